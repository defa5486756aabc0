"""End to end: a configuration `queue stats` refuses is refused by `signup --no-apply` too, before recording.

Issue 9: with these files `signup --no-apply` used to record (exit 0) while `queue run` / `queue stats`
refused them (exit 2). Both now go through the one ``config.normalize``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_installed

BAD = {
    "tiers twice": '[lifecycle]\ntiers = ["free", "free"]\n',
    "tiers differing by case, and cancelled": '[lifecycle]\ntiers = ["free", "Pro", "pro", "cancelled"]\n',
    "a field longer than Mautic holds": '[fields]\nbio = { type = "text", max_length = 500 }\n',
    "an unknown key": "[queue]\nlenght = 5\n",
    "not UTF-8": '[mautic]\nusername = "Jos\xe9"\n'.encode("latin-1"),
}
SIGNUP = ["signup", "--no-apply", "--user-id", "u1", "--email", "u1@example.com"]


@pytest.mark.parametrize("content", BAD.values(), ids=BAD.keys())
def test_signup_no_apply_refuses_what_queue_stats_refuses(tmp_path: Path, content: str | bytes):
    config = tmp_path / "config.toml"
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    config.chmod(0o600)
    db = tmp_path / "queue.db"
    env = {"MAUTIC_CTL_CONFIG": str(config), "MAUTIC_CTL_DB": str(db)}
    signup = run_installed(SIGNUP, env)
    stats = run_installed(["queue", "stats"], env)
    assert (signup.code, stats.code) == (2, 2), (signup.stderr, stats.stderr)
    assert signup.stderr == stats.stderr
    assert signup.stderr.startswith("error: ") and signup.stderr.count("\n") == 1, signup.stderr
    assert signup.stdout == "" and not db.exists()  # nothing recorded


def test_a_bad_generic_override_is_refused_by_both(tmp_path: Path):
    db = tmp_path / "queue.db"
    env = {"MAUTIC_CTL_DB": str(db), "MAUTIC_CTL_LIFECYCLE__TIERS": "free,FREE"}
    signup = run_installed(SIGNUP, env)
    stats = run_installed(["queue", "stats"], env)
    assert (signup.code, stats.code) == (2, 2)
    assert signup.stderr == stats.stderr and "lifecycle.tiers" in signup.stderr
    assert not db.exists()


def test_profile_option_and_variable_select_the_queue_file(tmp_path: Path):
    """--profile and MAUTIC_CTL_PROFILE pick [profiles.NAME]; the event lands in its DB."""
    config = tmp_path / "config.toml"
    staging, prod = tmp_path / "staging.db", tmp_path / "prod.db"
    config.write_text(f'[queue]\ndb = "{prod}"\n[profiles.staging.queue]\ndb = "{staging}"\n')
    config.chmod(0o600)
    env = {"MAUTIC_CTL_CONFIG": str(config)}
    assert run_installed(["--profile", "staging", *SIGNUP], env).code == 0
    assert staging.exists() and not prod.exists()
    staging.unlink()
    assert run_installed(SIGNUP, env | {"MAUTIC_CTL_PROFILE": "staging"}).code == 0
    assert staging.exists() and not prod.exists()
    wrong = run_installed(["--profile", "nope", *SIGNUP], env)
    assert wrong.code == 2 and "profile 'nope' is not defined" in wrong.stderr
