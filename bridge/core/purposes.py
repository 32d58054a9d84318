"""Why someone consulted record content (DPA 2018 s.62(3)(a)): fixed codes, never free text.

A consultation's purpose is recorded in the audit log, which outlives every record, so it must
never carry content: it is one of the codes below. Where the action implies why (claiming an
entry, deciding on it) the route records that code; a proxy choosing otherwise picks one; a
CLI command without `--purpose` records `cli:<command>`. Free text typed into a purpose field
is recorded as `other` with a hash of the text (so a later dispute can match it), never the
text itself.
"""

from __future__ import annotations

import hashlib

from bridge.errors import BadInput

__all__ = ["CHOSEN", "PURPOSES", "check_purpose", "purpose_code"]

#: code → what it means (shown where a person chooses; documented in docs/data-protection.md).
PURPOSES: dict[str, str] = {
    "review": "Checking the entry before approving or returning it",
    "claim": "Taking the work",
    "decide": "Approving, returning or marking as entered",
    "correction": "Correcting a failed or returned entry",
    "quality-check": "Checking a proxy's work",
    "subject-access": "Answering a subject access request",
    "incident": "Investigating a complaint or incident",
    "reshown": "Shown again after a refused action",
}

#: The purposes a person chooses from (the others are implied by the action that led there).
CHOSEN: tuple[tuple[str, str], ...] = tuple(
    (code, text) for code, text in PURPOSES.items() if code not in {"claim", "decide", "reshown"}
)


def purpose_code(text: str | None, default: str) -> str:
    """The code to record for `text`: a known code as it is, `default` for none, and for any
    other text `other:` and the first 16 hex digits of its SHA-256."""
    value = (text or "").strip()
    if not value:
        return default
    if value.lower() in PURPOSES:
        return value.lower()
    return "other:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def check_purpose(text: str | None) -> str | None:
    """A CLI `--purpose`: a known code, or None when none was given (the command then records
    `cli:<command>`); exit 2 for anything else, so no free text reaches the audit log."""
    value = (text or "").strip().lower()
    if not value:
        return None
    if value not in PURPOSES:
        raise BadInput(f"--purpose must be one of: {', '.join(PURPOSES)}.")
    return value
