"""What each person sees of a delivery failure, and what the audit log keeps of it: pure.

A sink's refusal can quote the record (libxml2 quotes the offending value, in any of many
shapes; an apostrophe, as in O'Brien, defeats masking by pattern). So nothing of its text is
kept as it came:

- `allowlisted(message)` rebuilds each message from what is known to be safe — the element
  it names (taken from where libxml2 puts it, an XML name) and a fixed code for what was wrong
  (an XSD facet name, or one of a few fixed words). That is what is stored on the entry, for a
  current proxy, who sees the record anyway.
- everyone else (the offender manager, administrators, operators' output) sees `FAILED_PHRASE`.
- the audit log keeps `text_digest(reason)`: a hash that matches the stored reason, never it.
"""

from __future__ import annotations

import hashlib
import re

from bridge.core.lifecycle import State

__all__ = [
    "FACETS",
    "FAILED_PHRASE",
    "allowlisted",
    "reason_for",
    "text_digest",
]

#: The fixed phrase anyone but a current proxy sees for a failed entry.
FAILED_PHRASE = "ViSOR could not take the record; a proxy is looking at it"
#: XSD constraining facets (what libxml2 names in "[facet 'pattern']").
FACETS = frozenset(
    {
        "pattern",
        "length",
        "minLength",
        "maxLength",
        "enumeration",
        "minInclusive",
        "maxInclusive",
        "minExclusive",
        "maxExclusive",
        "totalDigits",
        "fractionDigits",
        "whiteSpace",
    }
)
# libxml2 starts a schema error with the element (optionally with its namespace in braces).
_ELEMENT = re.compile(
    r"^\s*(?:line \d{1,9}: )?(?:Element|Attribute) '(?:\{[^}'\s]{1,200}\})?([A-Za-z_][\w.-]{0,63})'"
)
_FACET = re.compile(r"\[facet '([A-Za-z]{1,20})'\]")
#: Fixed words for the other libxml2 message kinds (phrase in the message → code kept).
_KINDS = (
    ("is not expected", "not expected"),
    ("Missing child element", "missing child element"),
    ("is not a valid value of the atomic type", "not a valid value of its type"),
    ("is not a valid value of the list type", "not a valid value of its type"),
    ("is not a valid value of the union type", "not a valid value of its type"),
    ("attribute", "attribute not allowed"),
)
_MAX = 500


def _one(message: str) -> str:
    match = _ELEMENT.match(message)
    element = match.group(1) if match else "record"
    facet = _FACET.search(message)
    if facet and facet.group(1) in FACETS:
        return f"{element}: {facet.group(1)}"
    for phrase, code in _KINDS:
        if phrase in message:
            return f"{element}: {code}"
    return f"{element}: not valid"


def allowlisted(messages: list[str]) -> str:
    """The sink's messages as element names and fixed codes only ("Surname: pattern; …")."""
    if not messages:
        return "no error list in the response"
    kept: list[str] = []
    for message in messages:
        line = _one(message)
        if line not in kept:
            kept.append(line)
    return "; ".join(kept)[:_MAX]


def text_digest(text: str | None) -> str | None:
    """A reference to `text` for the audit log: `sha256:` and 16 hex digits, never the text."""
    if text is None:
        return None
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def reason_for(
    status: str, reason: str | None, *, proxy: bool, shown: frozenset[str]
) -> str | None:
    """The reason a person sees for an entry in `status`: a failure's stored (allowlisted)
    text only for a current proxy, the fixed phrase for anyone else; other states' reasons
    as the caller's rule says (`shown`: the states whose reason this view shows)."""
    if status == State.FAILED:
        return reason if proxy and reason else FAILED_PHRASE
    return reason if status in shown else None
