"""mautic-ctl: Mautic in step with a SaaS user lifecycle."""

__version__ = "0.1.0"
