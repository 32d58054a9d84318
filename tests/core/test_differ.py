"""The differ's decision per CRN + section: nothing, supersede only, or a new entry."""

from __future__ import annotations

import pytest

from bridge.core.differ import Decision, decide

N, OPEN, BASE = "new", "open", "base"


@pytest.mark.parametrize(
    ("open_hash", "baseline_hash", "expected"),
    [
        (None, None, Decision.NEW_ENTRY),  # first time: queue it
        (None, N, Decision.NOTHING),  # ViSOR already holds it
        (None, BASE, Decision.NEW_ENTRY),  # changed since ViSOR's copy
        (N, None, Decision.NOTHING),  # same as the open entry
        (N, N, Decision.NOTHING),
        (N, BASE, Decision.NOTHING),
        (OPEN, None, Decision.NEW_ENTRY),  # changed again: replaces the open entry
        (OPEN, N, Decision.SUPERSEDE_ONLY),  # reverted to what ViSOR holds
        (OPEN, BASE, Decision.NEW_ENTRY),
        (OPEN, OPEN, Decision.NEW_ENTRY),  # open equal to baseline, new differs from both
    ],
)
def test_decide_truth_table(
    open_hash: str | None, baseline_hash: str | None, expected: Decision
) -> None:
    assert decide(new_hash=N, open_hash=open_hash, baseline_hash=baseline_hash) is expected
