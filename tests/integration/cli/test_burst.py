"""A burst of `signup` processes: every one is applied, by a few drainers rather than one drain each."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import contact_view


@pytest.mark.timeout(120)
def test_concurrent_signups_all_applied_by_few_drainers(env, mautic):
    """20 signup processes at once: all exit 0 'applied'; far fewer than 20 processes talked to Mautic."""
    exe = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    subprocess.run([exe, "queue", "stats"], env=full_env, check=True, capture_output=True)  # create the db
    procs = [
        subprocess.Popen([exe, "signup", "--user-id", f"b{i}", "--email", f"b{i}@example.com", "--json"],
                         env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(20)
    ]  # fmt: skip
    outs = [p.communicate(timeout=100) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, [e.decode()[-300:] for _, e in outs]
    assert {json.loads(o)["status"] for o, _ in outs} == {"applied"}
    assert all(contact_view(mautic, f"b{i}@example.com").segments == {"new_users", "free"} for i in range(20))
    tokens = mautic.counters.calls("POST", "/oauth/v2/token")
    assert 1 <= tokens < 10  # one token per process that drained: only a few did
    assert mautic.counters.calls("POST", "/api/contacts/batch/new") < 10
