"""Problems found in a case while mapping it: data for a person to act on, never exceptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SENT_MAX", "Issue", "has_blocking", "issues_from_json", "issues_to_json", "sent_values"]

#: The longest value kept as nDelius sent it (longer ones are cut: enough to recognise it).
SENT_MAX = 200


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with an entry (contract: `{"code", "path", "message", "blocking"}`).

    Attributes:
        code: a stable machine code such as `missing-field` or `unknown-code`.
        path: where in the record, e.g. `identity/DateOfBirth`.
        message: what is wrong and what to do next; never contains record values.
        blocking: whether the entry may not be approved until the issue is resolved.
        sent: the value nDelius sent that ViSOR cannot take, when there is one. It is record
            content: never in `to_json` (issues are metadata, listed to anyone who sees the
            queue); the sync keeps it beside the record (`entry.sent`), shown to proxies only.
    """

    code: str
    path: str
    message: str
    blocking: bool
    sent: str | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "blocking": self.blocking,
        }


def has_blocking(issues: list[Issue]) -> bool:
    """True when any issue stops approval."""
    return any(i.blocking for i in issues)


def issues_to_json(issues: list[Issue]) -> list[dict[str, Any]]:
    return [i.to_json() for i in issues]


def sent_values(issues: list[Issue] | tuple[Issue, ...]) -> dict[str, str]:
    """Each issue's path → the value nDelius sent there (content: see `Issue.sent`)."""
    return {i.path: i.sent for i in issues if i.sent is not None}


def issues_from_json(data: list[dict[str, Any]] | None) -> list[Issue]:
    return [
        Issue(str(d["code"]), str(d["path"]), str(d["message"]), bool(d["blocking"]))
        for d in data or []
    ]
