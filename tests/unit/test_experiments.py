"""Experiments as pure functions: deterministic assignment, weights, and the arm applied to the rules' plan."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pytest

from mautic_ctl.events import CANCELLED, build_event
from mautic_ctl.experiments import Arm, Book, Experiment, arm_key, bucket, plan_event
from mautic_ctl.rules import RETENTION, WELCOME, WINBACK, OpKind, onboarding
from tests.unit.test_rules import NOW, POLICY, VOCAB  # the same lifecycle the rules are tested with

WELCOME_EXP = Experiment(
    "welcome-test",
    WELCOME,
    (Arm("A", 1, 45), Arm("B", "Welcome B", 45), Arm("holdout", None, 10)),
    "exp_welcome",
)
BOOK = Book((WELCOME_EXP,), defaults=frozenset({WELCOME, RETENTION, WINBACK, onboarding("pro")}))


def signup(user="u1", tier="free"):
    return build_event("signup", VOCAB, user_id=user, email=f"{user}@example.com", tier=tier, now=NOW)


def change(to, user="u1"):
    return build_event("plan_change", VOCAB, user_id=user, tier=to, now=NOW)


def adds(p):
    return [op.target for op in p.ops if op.kind is OpKind.CAMPAIGN_ADD]


def user_with_arm(arm: str, start: int = 0) -> str:
    return next(f"user-{i}" for i in range(start, 10_000) if WELCOME_EXP.assign(f"user-{i}") == arm)


# --- assignment ----------------------------------------------------------------------------------


def test_assignment_is_a_pure_function_of_experiment_and_user():
    """The same (experiment, user) gives the same arm every time; another experiment deals independently."""
    first = [WELCOME_EXP.assign(f"user-{i}") for i in range(2000)]
    assert first == [WELCOME_EXP.assign(f"user-{i}") for i in range(2000)]
    other = replace(WELCOME_EXP, name="welcome-2")
    agree = sum(a == other.assign(f"user-{i}") for i, a in enumerate(first))
    assert 0.3 < agree / 2000 < 0.7  # ~0.45²+0.45²+0.1² = 0.415 if independent, 1.0 if not


def test_assignment_is_the_same_in_another_process():
    """No per-process salt (Python's hash() has one): a fresh interpreter deals the same arms."""
    code = (
        "from mautic_ctl.experiments import bucket; "
        "print(','.join(repr(bucket('welcome-test', f'user-{i}')) for i in range(50)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ",".join(repr(bucket("welcome-test", f"user-{i}")) for i in range(50))


def test_weights_are_respected_over_100000_ids():
    """45/45/10 over 100,000 ids: each share within 5 standard errors of its weight."""
    n = 100_000
    counts = Counter(WELCOME_EXP.assign(f"id-{i}") for i in range(n))
    for arm, share in (("A", 0.45), ("B", 0.45), ("holdout", 0.10)):
        sigma = math.sqrt(share * (1 - share) / n)
        assert abs(counts[arm] / n - share) < 5 * sigma, (arm, counts)


def test_bucket_is_uniform_enough():
    """The hash spreads ids evenly over [0, 1): ten deciles of 100,000 ids, each within 5 sigma of 10%."""
    n = 100_000
    deciles = Counter(int(bucket("x", str(i)) * 10) for i in range(n))
    sigma = math.sqrt(0.1 * 0.9 / n)
    assert all(abs(deciles[d] / n - 0.1) < 5 * sigma for d in range(10)), deciles


# --- the arm applied to the plan ----------------------------------------------------------------


def test_arm_b_enters_its_own_campaign_and_writes_the_field():
    """A signup in arm B enters arm B's campaign instead of the default Welcome, and the field says B."""
    user = user_with_arm("B")
    p, entries = plan_event(signup(user), plan_state(), POLICY, BOOK, {})
    assert adds(p) == [arm_key("welcome-test", "B")]
    upsert = next(op for op in p.ops if op.kind is OpKind.UPSERT)
    assert upsert.fields["exp_welcome"] == "B"
    assert [(e.slot, e.campaign, e.experiment, e.arm) for e in entries] == [
        (WELCOME, arm_key("welcome-test", "B"), "welcome-test", "B")
    ]
    assert p.after.campaigns == {arm_key("welcome-test", "B")}


def test_holdout_enters_no_campaign_but_is_recorded_and_labelled():
    """The holdout gets no welcome campaign, still gets the field (so Mautic can split), and an entry."""
    user = user_with_arm("holdout")
    p, entries = plan_event(signup(user, "pro"), plan_state(), POLICY, BOOK, {})
    assert adds(p) == [onboarding("pro")]  # only the experiment's slot is held out
    assert next(op for op in p.ops if op.kind is OpKind.UPSERT).fields["exp_welcome"] == "holdout"
    assert [(e.slot, e.campaign, e.arm) for e in entries] == [
        (WELCOME, None, "holdout"),
        ("onboarding:pro", "onboarding:pro", None),
    ]
    assert p.after.campaigns == {onboarding("pro")}


def test_stored_assignment_wins_over_the_hash_after_a_weight_edit():
    """Weights changed so the hash now says A: a user stored in B stays in B."""
    user = user_with_arm("B")
    edited = Experiment(
        WELCOME_EXP.name, WELCOME, (Arm("A", 1, 99), Arm("B", 2, 0.001), Arm("holdout", None, 1)), "exp_welcome"
    )
    book = Book((edited,), BOOK.defaults)
    assert edited.assign(user) == "A"
    p, entries = plan_event(signup(user), plan_state(), POLICY, book, {"welcome-test": "B"})
    assert adds(p) == [arm_key("welcome-test", "B")]
    assert entries[0].arm == "B"


def test_replay_gives_the_same_arm_and_never_enters_twice():
    """Re-planning the same signup against the state it produced: same arm, no second entry."""
    user = user_with_arm("A")
    p, _ = plan_event(signup(user), plan_state(), POLICY, BOOK, {})
    state = replace(p.after, contact_id=7)
    again, entries2 = plan_event(signup(user), state, POLICY, BOOK, {"welcome-test": "A"})
    assert adds(again) == []
    assert entries2 == () or all(e.arm == "A" for e in entries2)
    # a replay forgets the mirror (campaigns), keeps the stored arm: the arm's campaign again, not Welcome
    forgotten = replace(state, campaigns=frozenset(), known=False, tier=None, status=None)
    replayed, _ = plan_event(signup(user), forgotten, POLICY, BOOK, {"welcome-test": "A"})
    assert adds(replayed) == [arm_key("welcome-test", "A")]


def test_stopped_experiment_assigns_nobody_new_but_keeps_the_assigned():
    """active = false: a new user gets the default campaign and no field; an assigned user keeps its arm."""
    stopped = Book((replace(WELCOME_EXP, active=False),), BOOK.defaults)
    p, entries = plan_event(signup("new-user"), plan_state(), POLICY, stopped, {})
    assert adds(p) == [WELCOME]
    assert "exp_welcome" not in next(op for op in p.ops if op.kind is OpKind.UPSERT).fields
    assert entries[0].experiment is None
    p2, _ = plan_event(signup("old-user"), plan_state(), POLICY, stopped, {"welcome-test": "B"})
    assert adds(p2) == [arm_key("welcome-test", "B")]


def test_winback_arm_is_left_on_reactivation():
    """An experiment on winback: the user entered arm B's campaign; reactivating leaves that campaign."""
    exp = Experiment("wb", WINBACK, (Arm("A", 5), Arm("B", 9), Arm("hold", None)), "exp_wb")
    book = Book((exp,), BOOK.defaults)
    user = next(f"u{i}" for i in range(1000) if exp.assign(f"u{i}") == "B")
    state = replace(plan_state(), known=True, contact_id=7, email="x@example.com", tier="pro", status="active")
    cancel, _ = plan_event(change(CANCELLED, user), state, POLICY, book, {})
    assert adds(cancel) == [arm_key("wb", "B")]
    state = replace(cancel.after, contact_id=7)
    back, _ = plan_event(change("pro", user), state, POLICY, book, {"wb": "B"})
    removes = [op.target for op in back.ops if op.kind is OpKind.CAMPAIGN_REMOVE]
    assert removes == [arm_key("wb", "B")]
    assert arm_key("wb", "B") not in back.after.campaigns
    # a held-out user has nothing to leave
    held = replace(state, campaigns=frozenset())
    back_held, _ = plan_event(change("pro", user), held, POLICY, book, {"wb": "hold"})
    assert not [op for op in back_held.ops if op.kind is OpKind.CAMPAIGN_REMOVE]


def test_known_user_without_field_changes_gets_an_update_for_the_arm_field():
    """A downgrade into an experimented retention slot: the arm field goes in an update of its own if needed."""
    exp = Experiment("ret", RETENTION, (Arm("A", 4), Arm("hold", None)), "exp_ret")
    book = Book((exp,), BOOK.defaults)
    state = replace(plan_state(), known=True, contact_id=7, email="x@example.com", tier="pro", status="active")
    p, entries = plan_event(change("free", "someone"), state, POLICY, book, {})
    update = next(op for op in p.ops if op.kind is OpKind.UPDATE)
    assert update.fields["exp_ret"] == entries[0].arm


def test_no_book_is_the_plain_plan():
    p, entries = plan_event(signup(), plan_state(), POLICY, None, {})
    assert adds(p) == [WELCOME]
    assert [(e.slot, e.campaign) for e in entries] == [(WELCOME, WELCOME)]


def plan_state():
    from mautic_ctl.rules import UserState

    return UserState()


@pytest.mark.parametrize("arm", ["A", "B", "holdout"])
def test_every_arm_is_reachable(arm):
    assert user_with_arm(arm)


def test_config_example_experiment_loads(tmp_path):
    """The commented [[experiments]] example of config.example.toml, uncommented, is a valid experiment."""
    from pathlib import Path

    from mautic_ctl.settings import load_settings

    text = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text()
    block = text[text.index("# [[experiments]]") :].split("\n\n")[0].splitlines()
    toml = "\n".join(line.removeprefix("# ") for line in block if line.startswith("# "))
    path = tmp_path / "c.toml"
    path.write_text(toml)
    path.chmod(0o600)
    book = load_settings(path).book()
    assert book is not None
    (exp,) = book.experiments
    assert (exp.slot, exp.field, [a.name for a in exp.arms]) == ("welcome", "exp_welcome", ["A", "B", "holdout"])
    assert exp.holdout is not None and exp.holdout.name == "holdout"


def test_settings_refuse_two_experiments_on_one_slot_and_bad_arms(tmp_path):
    from mautic_ctl.errors import ConfigError
    from mautic_ctl.settings import load_settings

    one = '[[experiments]]\nname = "{n}"\nslot = "welcome"\narms = [{{name = "A", campaign = 1}}, {{name = "{b}", campaign = "none"}}]\n'
    cases = {
        one.format(n="a", b="h") + one.format(n="b", b="h"): "one per slot",
        one.format(n="a", b="A"): "distinct",
        one.format(n="a", b="h").replace('slot = "welcome"', 'slot = "nope"'): "'nope'",
    }
    for text, expected in cases.items():
        path = tmp_path / "c.toml"
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(ConfigError) as info:
            load_settings(path)
        assert expected in str(info.value), (text, info.value)


def test_as_entered_reads_an_arm_or_the_holdout_as_the_slot():
    """For an entry check (reconcile): arm B's campaign is the welcome slot; a held-out user has it too."""
    from mautic_ctl.rules import UserState

    in_b = UserState(known=True, campaigns=frozenset({arm_key("welcome-test", "B"), onboarding("pro")}))
    assert BOOK.as_entered(in_b, {"welcome-test": "B"}).campaigns == {WELCOME, onboarding("pro")}
    held = UserState(known=True)
    assert BOOK.as_entered(held, {"welcome-test": "holdout"}).campaigns == {WELCOME}
    assert BOOK.as_entered(held, {}).campaigns == frozenset()  # never assigned: nothing entered
