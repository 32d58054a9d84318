"""The words people read for the bridge's states, kinds and sections, and its dates: one set.

The web pages, the CLI's human output and the JSON API's `label` keys all take their words
from here, so an officer, a proxy and an operator read the same state the same way (the JSON
`status` values stay the contract names of `bridge.core.lifecycle`). Dates and times people
read are in Europe/London, in GOV.UK style ("23 November 2026 at 9:30am"). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from bridge.core.lifecycle import LONDON, Kind, Section, State

__all__ = [
    "KIND_EXPLAINED",
    "KIND_LABELS",
    "OVERDUE_EXPLAINED",
    "OVERDUE_LABEL",
    "REPLACED_RETURN_EXPLAINED",
    "REPLACED_RETURN_LABEL",
    "SECTION_LABELS",
    "STATE_EXPLAINED",
    "STATE_LABELS",
    "explain_kind",
    "explain_state",
    "kind_label",
    "long_date",
    "london_date",
    "long_datetime",
    "section_label",
    "short_time",
    "state_label",
    "zone_name",
]

#: Each entry state in the words people read (web, CLI tables, API `label`).
STATE_LABELS: Mapping[State, str] = {
    State.PENDING: "Waiting",
    State.CLAIMED: "With a proxy",
    State.APPROVED: "Approved",
    State.SUBMITTED: "Sent to ViSOR",
    State.ACCEPTED: "Entered in ViSOR",
    State.REJECTED: "Returned to officer",
    State.SUPERSEDED: "Replaced",
    State.FAILED: "Could not send",
}

#: One sentence per state for offender managers: what it means and who acts next.
STATE_EXPLAINED: Mapping[State, str] = {
    State.PENDING: "The change is waiting for a vetted proxy to pick it up.",
    State.CLAIMED: "A vetted proxy is checking the change now.",
    State.APPROVED: "A proxy has checked the change and it is ready to go into ViSOR.",
    State.SUBMITTED: "The change has been sent to ViSOR and is waiting for ViSOR to confirm it.",
    State.ACCEPTED: "The change is in ViSOR.",
    State.REJECTED: "A proxy returned the change to you with a reason; correct it in nDelius.",
    State.SUPERSEDED: "A newer change to the same part of the record replaced this one.",
    State.FAILED: "ViSOR could not take the change; an administrator will resend it.",
}

#: An open entry past its due date (shown beside its state, on the officer's pages too).
OVERDUE_LABEL = "Overdue"
OVERDUE_EXPLAINED = "It is past its due date and not yet in ViSOR; the proxies are reminded daily."
#: A returned entry whose section has a newer entry since: the return is dealt with.
REPLACED_RETURN_LABEL = "Returned, since replaced"
REPLACED_RETURN_EXPLAINED = (
    "It was returned to you; a newer entry for the same part of the record has replaced it."
)

#: Each entry kind as a proxy reads it (never the contract word on a page).
KIND_LABELS: Mapping[Kind, str] = {
    Kind.NOMINAL_CREATE: "New person",
    Kind.NOMINAL_UPDATE: "Update",
    Kind.ACTIVITY: "Activity",
    Kind.ACTIVITY_WITHDRAWN: "Activity withdrawn",
    Kind.MAPPA_ENDED: "MAPPA ended",
}

#: One sentence per kind for offender managers: what the proxy is asked to do in ViSOR.
KIND_EXPLAINED: Mapping[Kind, str] = {
    Kind.NOMINAL_CREATE: "The person has no ViSOR record yet: a proxy creates it.",
    Kind.NOMINAL_UPDATE: "A change to part of the person's existing ViSOR record.",
    Kind.ACTIVITY: "A contact flagged for ViSOR, added to the record's activity log.",
    Kind.ACTIVITY_WITHDRAWN: "A contact deleted in nDelius, taken out of the activity log.",
    Kind.MAPPA_ENDED: "MAPPA management has ended: the record is marked as such in ViSOR.",
}

#: Each section of the ViSOR record as a heading.
SECTION_LABELS: Mapping[Section, str] = {
    Section.IDENTITY: "Identity",
    Section.ALIASES: "Aliases",
    Section.ADDRESSES: "Addresses",
    Section.MAPPA: "MAPPA",
    Section.RISK: "Risk",
    Section.REGISTRATIONS: "Registrations",
    Section.MANAGING_OFFICER: "Managing officer",
    Section.ACTIVITY: "Activity",
}


def state_label(status: str) -> str:
    """`rejected` → "Returned to officer"; a word that is not a state is returned as it is."""
    try:
        return STATE_LABELS[State(status)]
    except ValueError:
        return status


def explain_state(status: str) -> str:
    """The one-sentence explanation of a state for officers ('' for an unknown word)."""
    try:
        return STATE_EXPLAINED[State(status)]
    except ValueError:
        return ""


def explain_kind(kind: str) -> str:
    """The one-sentence explanation of a kind for officers ('' for an unknown word)."""
    try:
        return KIND_EXPLAINED[Kind(kind)]
    except ValueError:
        return ""


def kind_label(kind: str) -> str:
    """`nominal-create` → "New person"; an unknown word is returned as it is."""
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def section_label(section: str) -> str:
    """`managing-officer` → "Managing officer"; an unknown name in words, capitalised."""
    try:
        return SECTION_LABELS[Section(section)]
    except ValueError:
        return section.replace("-", " ").capitalize()


def _local(when: datetime) -> datetime:
    """An instant in England and Wales (a naive one is taken as UTC, as the store keeps it)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(LONDON)


def london_date(when: datetime) -> date:
    """The date in England and Wales at an instant (a naive one is taken as UTC)."""
    return _local(when).date()


def long_date(value: str | date | None) -> str:
    """A date, an instant or their ISO text → "23 November 2026" ('' for nothing).

    An instant is dated in Europe/London (00:30 UTC on a summer day is the same day there,
    23:30 UTC on 31 May is 1 June)."""
    if value is None or value == "":
        return ""
    when: date = value if isinstance(value, date) else datetime.fromisoformat(str(value))
    if isinstance(when, datetime):
        when = _local(when)
    return f"{when.day} {when:%B %Y}"


def short_time(when: datetime) -> str:
    """The time of day in Europe/London, GOV.UK style: "9:30am", "12pm", "4:05pm"."""
    local = _local(when)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local:%M}{suffix}"


def zone_name(when: datetime) -> str:
    """ "GMT" or "BST": the clocks of England and Wales at that instant."""
    return "BST" if _local(when).dst() else "GMT"


def long_datetime(value: str | datetime | None, *, zone: bool = False) -> str:
    """An instant → "23 November 2026 at 9:30am" in Europe/London ('' for nothing); with
    `zone`, the clocks' name follows ("… at 9:30am GMT", "… at 10:30am BST")."""
    if value is None or value == "":
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    text = f"{long_date(when)} at {short_time(when)}"
    return f"{text} {zone_name(when)}" if zone else text
