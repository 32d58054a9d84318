"""The GOV.UK Notify message kinds (ARCHITECTURE §11): who gets each, and what it may carry.

Every message is content-free: a CRN, a count, a number of days or hours, a staff code and a
link to the service at most — never a name, a date of birth, an address, a record value or a
reason's text (those are behind the link, where every view is audited). `PERSONALISATION`
lists the only keys each kind's template may use; `check_personalisation` refuses anything
else, so a caller cannot slip content into a message. Pure: no I/O.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AUDIENCE",
    "KINDS",
    "PERSONALISATION",
    "Audience",
    "KindInfo",
    "NotifyKind",
    "OutboxStatus",
    "check_personalisation",
    "demo_template_id",
    "kind_info",
]


class NotifyKind(StrEnum):
    """A message kind; its setting is BRIDGE_NOTIFY_TEMPLATE_<NAME> (e.g. ..._ENTRY_RETURNED)."""

    ENTRY_RETURNED = "entry_returned"
    CASE_ENTERED = "case_entered"
    ENTRY_OVERDUE = "entry_overdue"
    TASKS_DUE_TOMORROW = "tasks_due_tomorrow"
    PROXY_DIGEST = "proxy_digest"
    VETTING_EXPIRING = "vetting_expiring"
    SYNC_STALE = "sync_stale"
    BREAKER_OPEN = "breaker_open"
    ATTENTION = "attention"


class OutboxStatus(StrEnum):
    """A notification's place in the outbox: queued → sending → sent | failed | skipped."""

    QUEUED = "queued"
    SENDING = "sending"  # committed just before the send: outcome unknown until `sent`
    SENT = "sent"
    FAILED = "failed"  # Notify refused it for good (its reason kept)
    SKIPPED = "skipped"  # no address any more, or turned off


class Audience(StrEnum):
    """Who a kind goes to."""

    OFFICER = "officer"
    PROXY = "proxy"
    ADMIN = "admin"


@dataclass(frozen=True)
class KindInfo:
    """One kind: its audience, its template's keys and text, and what it means (docs, pages)."""

    kind: NotifyKind
    audience: Audience
    keys: tuple[str, ...]
    title: str  # on the Notifications page
    means: str  # one sentence: why it was sent and what to do
    subject: str
    body: str

    @property
    def setting(self) -> str:
        return f"BRIDGE_NOTIFY_TEMPLATE_{self.kind.name}"


_LINK = "((link))"

KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        NotifyKind.ENTRY_RETURNED,
        Audience.OFFICER,
        ("crn", "link"),
        "An entry was returned to you",
        "A proxy returned a change to one of your cases; the reason is on the case page.",
        "A ViSOR entry for case ((crn)) was returned to you",
        "A vetted proxy returned a ViSOR entry for case ((crn)) to you.\n\n"
        f"Sign in to see why and what to change in nDelius: {_LINK}",
    ),
    KindInfo(
        NotifyKind.CASE_ENTERED,
        Audience.OFFICER,
        ("crn", "link"),
        "Your case's update was entered in ViSOR",
        "Changes to one of your cases are now in ViSOR; nothing for you to do.",
        "Case ((crn)) has been updated in ViSOR",
        f"The update to case ((crn)) has been entered in ViSOR.\n\nSee its entries: {_LINK}",
    ),
    KindInfo(
        NotifyKind.ENTRY_OVERDUE,
        Audience.OFFICER,
        ("count", "link"),
        "Entries for your cases are overdue",
        "Some entries made on your behalf are past their due date; at most one message a day.",
        "ViSOR entries for your cases are overdue",
        "((count)) ViSOR entries for your cases are past their due date and not yet entered.\n\n"
        f"See which cases: {_LINK}",
    ),
    KindInfo(
        NotifyKind.TASKS_DUE_TOMORROW,
        Audience.PROXY,
        ("count", "link"),
        "Tasks fall due tomorrow",
        "Case tasks in the queue fall due tomorrow; one message a day.",
        "ViSOR tasks fall due tomorrow",
        f"((count)) case tasks in the queue fall due tomorrow.\n\nOpen the queue: {_LINK}",
    ),
    KindInfo(
        NotifyKind.PROXY_DIGEST,
        Audience.PROXY,
        ("waiting", "overdue", "link"),
        "Daily digest of the queue",
        "How many case tasks wait and how many are overdue; one message a day.",
        "ViSOR queue today",
        "Case tasks waiting: ((waiting))\nOverdue: ((overdue))\n\n" + f"Open the queue: {_LINK}",
    ),
    KindInfo(
        NotifyKind.VETTING_EXPIRING,
        Audience.ADMIN,
        ("staff_code", "days", "link"),
        "A proxy's vetting is about to expire",
        "A proxy's vetting lapses within the configured days; renew it or they stop working.",
        "Vetting for ((staff_code)) expires in ((days)) days",
        "The vetting of staff member ((staff_code)) expires in ((days)) days. When it lapses "
        f"they can no longer work on the queue.\n\nSee the staff list: {_LINK}",
    ),
    KindInfo(
        NotifyKind.SYNC_STALE,
        Audience.ADMIN,
        ("hours", "link"),
        "The sync has stopped",
        "No sync has succeeded for the configured time; changes in nDelius are not arriving.",
        "The nDelius sync has not succeeded for ((hours)) hours",
        "No sync from nDelius has succeeded for ((hours)) hours, so new changes are not being "
        f"queued.\n\nSee the sync page: {_LINK}",
    ),
    KindInfo(
        NotifyKind.BREAKER_OPEN,
        Audience.ADMIN,
        ("link",),
        "Sending to ViSOR has paused",
        "ViSOR refused several deliveries in a row, so sending paused for a cool-down.",
        "Sending to ViSOR has paused",
        "ViSOR could not take several entries in a row, so the bridge paused sending for a "
        f"while. It tries again by itself.\n\nSee submissions: {_LINK}",
    ),
    KindInfo(
        NotifyKind.ATTENTION,
        Audience.ADMIN,
        ("crn", "link"),
        "A case needs attention",
        "The sync found a case a person must look at (the attention list).",
        "Case ((crn)) needs attention",
        f"The sync could not conclude on case ((crn)) and needs a person to look.\n\n{_LINK}",
    ),
)

_BY_KIND: Mapping[NotifyKind, KindInfo] = {k.kind: k for k in KINDS}
PERSONALISATION: Mapping[NotifyKind, tuple[str, ...]] = {k.kind: k.keys for k in KINDS}
AUDIENCE: Mapping[NotifyKind, Audience] = {k.kind: k.audience for k in KINDS}

#: What each personalisation value may look like (the link: the service's own address).
_CRN = re.compile(r"[A-Z]\d{6}")
_STAFF_CODE = re.compile(r"(?=[A-Z0-9]*\d)[A-Z0-9]{3,16}")  # N07A001, ADM0001: never a word
_NUMBER = re.compile(r"\d{1,6}")
_PATTERNS = {"crn": _CRN, "staff_code": _STAFF_CODE}
_NAMESPACE = uuid.UUID("6f1a2f9e-4d1c-4c55-9f5e-0b6d2f1c7a10")


def kind_info(kind: NotifyKind | str) -> KindInfo:
    return _BY_KIND[NotifyKind(kind)]


def check_personalisation(
    kind: NotifyKind | str, values: Mapping[str, object], *, link_base: str
) -> dict[str, str]:
    """The values as Notify gets them (text), or ValueError: a key the kind does not have, a
    key it lacks, or a value that is not a CRN, a staff code, a number or a link of ours."""
    info = kind_info(kind)
    if set(values) != set(info.keys):
        raise ValueError(f"{info.kind}: personalisation keys must be {sorted(info.keys)}")
    out: dict[str, str] = {}
    for key, value in values.items():
        text = str(value)
        if key == "link":
            if not (text == link_base or text.startswith(link_base.rstrip("/") + "/")):
                raise ValueError(f"{info.kind}: the link must point at the service")
        elif not _PATTERNS.get(key, _NUMBER).fullmatch(text):
            raise ValueError(f"{info.kind}: {key} is not a {key.replace('_', ' ')} of ours")
        out[key] = text
    return out


def demo_template_id(kind: NotifyKind | str) -> str:
    """The template id the simulator serves for `kind` by default (the demo configures it)."""
    return str(uuid.uuid5(_NAMESPACE, NotifyKind(kind).value))
