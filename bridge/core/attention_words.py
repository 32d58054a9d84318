"""The attention list as people read it: a name for each reason and one sentence of what to do.

The reason codes (`bridge.core.attention.AttentionReason`) are the contract of `admin
attention --json`; pages and the CLI's table show these words instead (docs/operations.md has
the longer table). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge.core.attention import AttentionReason

__all__ = ["ATTENTION_GUIDANCE", "ATTENTION_LABELS", "attention_guidance", "attention_label"]

_R = AttentionReason

#: Each reason as a short heading.
ATTENTION_LABELS: Mapping[AttentionReason, str] = {
    _R.OFFICER_UNDETERMINED: "No current offender manager",
    _R.NOT_FOUND: "Not found in nDelius",
    _R.REFUSED: "nDelius refused to send it",
    _R.UNREADABLE: "nDelius sent it in a form the bridge cannot read",
    _R.ACCESS_UNCLEAR: "Who may see it is unclear",
    _R.UNTAKEABLE: "No proxy may take it",
    _R.ERASURE_INCOMPLETE: "Erasure not finished",
}

#: What to do about each reason, in one sentence.
ATTENTION_GUIDANCE: Mapping[AttentionReason, str] = {
    _R.OFFICER_UNDETERMINED: (
        "nDelius names no current offender manager for this MAPPA case: ask the probation "
        "delivery unit to correct its allocation in nDelius, and the next sync clears it."
    ),
    _R.NOT_FOUND: (
        "Check the CRN in nDelius: a merge or deletion there usually follows and clears it; if "
        "the case does exist, raise it with the nDelius team."
    ),
    _R.REFUSED: (
        "Ask the nDelius team to let the bridge read this case; the bridge keeps trying and "
        "you can ask for it to be read again on the sync page."
    ),
    _R.UNREADABLE: (
        "Report the CRN to the nDelius team; it clears as soon as a read succeeds, and you can "
        "ask for it to be read again on the sync page."
    ),
    _R.ACCESS_UNCLEAR: (
        "nDelius marks the case as limited access without a list the bridge can use, so it is "
        "hidden from everyone: ask the nDelius team to correct its exclusion or restriction list."
    ),
    _R.UNTAKEABLE: (
        "No proxy with current vetting may work on this case: renew a proxy's vetting or add "
        "a vetted proxy on the staff page, or ask for one to be allowed on the case in nDelius."
    ),
    _R.ERASURE_INCOMPLETE: (
        "The person's records are gone but the database could not be cleaned fully: close "
        "whatever holds it open (a backup, a database shell) and the retention job finishes it."
    ),
}


def attention_label(reason: str) -> str:
    """`access_unclear` → "Who may see it is unclear"; an unknown code as "Other reason"."""
    try:
        return ATTENTION_LABELS[AttentionReason(reason)]
    except ValueError:
        return "Other reason"


def attention_guidance(reason: str) -> str:
    """One sentence of what to do ('' for an unknown code)."""
    try:
        return ATTENTION_GUIDANCE[AttentionReason(reason)]
    except ValueError:
        return ""
