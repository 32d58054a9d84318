"""Sinks: how an approved entry's record leaves the bridge (ARCHITECTURE.md §1, issue "Sinks").

    manual      nothing is sent; a proxy keys the record into ViSOR (`entry mark-entered`)
    visor-http  POST to the ViSOR-like API with an idempotency key (visor_http.py)
    file-drop   an XML file per entry version plus a manifest line (file_drop.py)

A sink delivers one entry and says what happened; the submission service owns the states,
the transactions and the audit. A sink raises `SubmitUnavailable` (try again later) or
`SubmitRejected` (the record itself was refused), never anything else on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.store.models import Entry

__all__ = ["Delivery", "Sink", "idempotency_key"]


def idempotency_key(entry: Entry) -> str:
    """The same for every send of one entry version, so a re-send never duplicates it."""
    return f"{entry.id}-v{entry.version}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a sink did with one entry.

    Attributes:
        reference: ViSOR's reference when the sink acknowledges (the entry is then accepted);
            None when the sink only hands the record over (the entry stays submitted).
        detail: ids for the audit line (file name, sha256, whether ViSOR had it already):
            never record content.
    """

    reference: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Sink(Protocol):
    """One way for records to reach ViSOR."""

    #: The BRIDGE_SINK value this sink implements.
    name: str
    #: True when a delivery returns ViSOR's acknowledgement. Entries are then marked
    #: `submitted` *before* the send, and a `submitted` entry found by a later run (its run
    #: died mid-request) is sent again with the same idempotency key. False when a delivery
    #: only hands the record over: the entry becomes `submitted` after it and stays there
    #: until a proxy records the ViSOR reference.
    acknowledges: bool

    def deliver(self, entry: Entry) -> Delivery:
        """Deliver one approved entry's record (idempotent per entry id and version)."""
        ...

    def close(self) -> None:
        """Release connections or files."""
        ...
