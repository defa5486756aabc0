"""``python -m mautic_ctl`` is the same as ``mautic-ctl``."""

from mautic_ctl.cli import main

if __name__ == "__main__":
    main()
