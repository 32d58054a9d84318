"""Every error the bridge raises on purpose, as one hierarchy.

    BridgeError
    ├── ConfigError                 settings or environment unusable (refuse to start)
    ├── MappingSpecError            the mapping spec, code tables or XSD are wrong (lists every problem)
    ├── SourceError                 the nDelius-like API failed or sent something unusable
    │   ├── SourceUnavailable       (transient) connection, timeout, 429 or 5xx after retries
    │   ├── SourceNotFound          (permanent) 404 for a CRN
    │   └── SourceDataError         (permanent) a body that is not the JSON we need
    ├── SubmitError                 a sink could not deliver an entry
    │   ├── SubmitUnavailable       (transient)
    │   └── SubmitRejected          (permanent) the sink refused the record
    ├── DomainRefusal               a person or operator asked for something not allowed now
    │   ├── NotPermitted            not allowed, excluded or unknown entry: one message, so nothing leaks
    │   ├── WrongState              the entry is not in a state that allows the action
    │   │   └── ApprovalRefused     an "approve all" refused as a whole; lists each failing entry
    │   └── VersionConflict         the edit was based on a stale version
    └── BadInput                    a file or argument a person supplied is malformed

Retry decisions key off the `Transient` / `Permanent` mixins, never off message text.
A bad *input record* is not an exception at all: mapping returns issues instead.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApprovalRefused",
    "BadInput",
    "BridgeError",
    "ConfigError",
    "DomainRefusal",
    "MappingSpecError",
    "NotPermitted",
    "Permanent",
    "SourceDataError",
    "SourceError",
    "SourceNotFound",
    "SourceUnavailable",
    "SubmitError",
    "SubmitRejected",
    "SubmitUnavailable",
    "Transient",
    "VersionConflict",
    "WrongState",
]


class Transient:
    """Mixin: trying again later may succeed."""


class Permanent:
    """Mixin: trying again without a change will fail the same way."""


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError, Permanent):
    """Raised at start-up when settings are missing, inconsistent or unsafe."""


class MappingSpecError(BridgeError, Permanent):
    """Raised when the mapping spec cannot be used; `problems` lists every one found."""

    def __init__(self, problems: list[str], *, folder: object = None) -> None:
        self.problems = list(problems)
        self.folder = folder
        listing = "\n".join(f"  - {p}" for p in self.problems)
        where = f" in {folder}" if folder is not None else ""
        super().__init__(f"{len(self.problems)} problem(s) in the mapping spec{where}:\n{listing}")


class SourceError(BridgeError):
    """Raised when the nDelius-like API fails; carries the CRN (never personal data)."""

    def __init__(self, message: str, *, crn: str | None = None, status: int | None = None) -> None:
        self.crn = crn
        self.status = status
        super().__init__(message)


class SourceUnavailable(SourceError, Transient):
    """Connection failure, timeout, 429 or 5xx that outlasted the in-request retries."""


class SourceNotFound(SourceError, Permanent):
    """The API answered 404 for a CRN (deleted or merged between an event and the read)."""


class SourceDataError(SourceError, Permanent):
    """The API answered with a body that is not the JSON shape we need."""


class SubmitError(BridgeError):
    """Raised when a sink cannot deliver an entry."""

    def __init__(self, message: str, *, entry_id: int | None = None) -> None:
        self.entry_id = entry_id
        super().__init__(message)


class SubmitUnavailable(SubmitError, Transient):
    """The sink is down or overloaded; the entry stays approved and is tried again."""


class SubmitRejected(SubmitError, Permanent):
    """The sink refused the record; the entry becomes failed with the reason."""


class DomainRefusal(BridgeError):
    """A request that the rules refuse; the CLI exits 1 and the web answers 403/404/409."""


class NotPermitted(DomainRefusal):
    """Not allowed, excluded from the case, or no such entry: deliberately one message."""

    MESSAGE = "Not permitted: no such entry, or you may not act on it."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.MESSAGE)


class WrongState(DomainRefusal):
    """The entry's state does not allow the action (for example approving a pending entry)."""


class ApprovalRefused(WrongState):
    """A case task's approval refused as a whole (nothing approved): `failures` names each
    entry and why (blocking fields, a stale version, no claim), so a page can link each one."""

    def __init__(self, message: str, failures: list[Any]) -> None:
        self.failures = list(failures)
        super().__init__(message)


class VersionConflict(DomainRefusal):
    """An edit or decision named a version that is no longer the current one."""


class BadInput(BridgeError, Permanent):
    """A file or argument supplied by a person is malformed; the CLI exits 2."""
