"""The record path stays light: `signup --no-apply` runs without pydantic, httpx or the PostgreSQL driver.

Checked in a fresh interpreter (this test process has imported everything already): the command really
runs, records its event, and then ``sys.modules`` is inspected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("pydantic", "pydantic_settings", "httpx", "httpcore", "psycopg", "psycopg_pool")  # psycopg: PostgreSQL only

PROGRAM = """
import json, sys
from mautic_ctl.cli import main
try:
    main(["signup", "--no-apply", "--user-id", "u1", "--email", "u1@example.com", "--json"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_fresh(program: str, tmp_path: Path, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")}
    clean |= {"MAUTIC_CTL_DB": str(tmp_path / "queue.db"), "HOME": str(tmp_path), **env}
    proc = subprocess.run([sys.executable, "-c", program], env=clean, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_signup_no_apply_imports_neither_pydantic_nor_httpx(tmp_path):
    got = run_fresh(PROGRAM, tmp_path)
    assert got["code"] == 0
    assert (tmp_path / "queue.db").exists()
    heavy = [m for m in got["modules"] if m.split(".")[0] in HEAVY]
    assert heavy == [], f"the record path imported {heavy}"


def test_the_light_config_view_with_profiles_and_env_overrides_stays_light(tmp_path):
    """Profiles and MAUTIC_CTL_SECTION__KEY overrides are read by the light view too, still without pydantic."""
    config = tmp_path / "config.toml"
    config.write_text("[profiles.staging.queue]\nbatch_size = 10\n")
    config.chmod(0o600)
    program = (
        "import json, sys\nfrom mautic_ctl.config import load_quick\n"
        "q = load_quick()\n"
        "print(json.dumps({'db': str(q.db), 'modules': sorted(sys.modules)}))"
    )
    got = run_fresh(
        program, tmp_path, MAUTIC_CTL_CONFIG=str(config), MAUTIC_CTL_PROFILE="staging",
        MAUTIC_CTL_QUEUE__DB=str(tmp_path / "env.db"),
    )  # fmt: skip
    assert got["db"] == str(tmp_path / "env.db")
    assert [m for m in got["modules"] if m.split(".")[0] in HEAVY] == []
