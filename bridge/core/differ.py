"""What a freshly mapped section means for the queue, given the open entry and the baseline."""

from __future__ import annotations

from enum import Enum

__all__ = ["Decision", "decide"]


class Decision(Enum):
    """The three outcomes of comparing a section with the queue (ARCHITECTURE.md §1)."""

    NOTHING = "nothing"  # same as the open entry, or no open entry and same as the baseline
    SUPERSEDE_ONLY = "supersede-only"  # back to the baseline: the open entry is no longer needed
    NEW_ENTRY = "new-entry"  # new content: a new entry that supersedes any open one


def decide(*, new_hash: str, open_hash: str | None, baseline_hash: str | None) -> Decision:
    """Decide per CRN + section.

    Args:
        new_hash: canonical hash of the section as just mapped.
        open_hash: hash of the open (pending/claimed) entry's original content, if any.
        baseline_hash: hash of the last approved/submitted/accepted content, if any.
    """
    if open_hash is not None and new_hash == open_hash:
        return Decision.NOTHING
    if baseline_hash is not None and new_hash == baseline_hash:
        return Decision.SUPERSEDE_ONLY if open_hash is not None else Decision.NOTHING
    return Decision.NEW_ENTRY
