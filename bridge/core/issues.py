"""Problems found in a case while mapping it: data for a person to act on, never exceptions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Issue", "has_blocking", "issues_from_json", "issues_to_json"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with an entry (contract: `{"code", "path", "message", "blocking"}`).

    Attributes:
        code: a stable machine code such as `missing-field` or `unknown-code`.
        path: where in the record, e.g. `identity/DateOfBirth`.
        message: what is wrong and what to do next; never contains record values.
        blocking: whether the entry may not be approved until the issue is resolved.
    """

    code: str
    path: str
    message: str
    blocking: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def has_blocking(issues: list[Issue]) -> bool:
    """True when any issue stops approval."""
    return any(i.blocking for i in issues)


def issues_to_json(issues: list[Issue]) -> list[dict[str, Any]]:
    return [i.to_json() for i in issues]


def issues_from_json(data: list[dict[str, Any]] | None) -> list[Issue]:
    return [
        Issue(str(d["code"]), str(d["path"]), str(d["message"]), bool(d["blocking"]))
        for d in data or []
    ]
