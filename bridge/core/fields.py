"""Writing one field of a section: clean, check and record an issue instead of failing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lxml import etree

from bridge.core.issues import Issue
from bridge.core.snapshot import as_str
from bridge.core.xmltext import clean_text

__all__ = ["NS", "SectionWriter", "iso_date"]

NS = "urn:visor-bridge:visor:v1"


def iso_date(value: Any) -> str | None:
    """`YYYY-MM-DD` from a date or date-time string, or None when it is not a real date."""
    text = as_str(value)
    if text is None or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


@dataclass
class SectionWriter:
    """Builds one section's element and collects its issues.

    Every value is cleaned of characters XML cannot hold and length-checked; a problem
    becomes an `Issue` on `path` and the field is left out, so the mapping never raises.
    """

    section: str
    tag: str
    issues: list[Issue] = field(default_factory=list)
    root: etree._Element = field(init=False)

    def __post_init__(self) -> None:
        self.root = etree.Element(f"{{{NS}}}{self.tag}", nsmap={None: NS})

    def issue(self, code: str, path: str, message: str, *, blocking: bool) -> None:
        self.issues.append(Issue(code, f"{self.section}/{path}", message, blocking))

    def child(self, parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{NS}}}{tag}")

    def text(
        self,
        parent: etree._Element,
        tag: str,
        value: Any,
        *,
        path: str,
        required: bool = False,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
    ) -> str | None:
        """Write `<tag>value</tag>` under `parent` if the value is usable; return what was written."""
        label = what or tag
        raw = as_str(value)
        if raw is None:
            if required:
                self.issue(
                    "missing-field", path, f"{label} is missing in nDelius; add it.", blocking=True
                )
            return None
        text, removed = clean_text(raw.strip())
        if removed:
            self.issue(
                "xml-char-removed",
                path,
                f"{removed} character(s) XML cannot hold were removed from {label}; check it.",
                blocking=False,
            )
        if not text:
            if required:
                self.issue("missing-field", path, f"{label} is empty; add it.", blocking=True)
            return None
        if max_len is not None and len(text) > max_len:
            self.issue(
                "too-long",
                path,
                f"{label} is longer than ViSOR allows ({max_len} characters); shorten it.",
                blocking=True,
            )
            return None
        if pattern is not None and not pattern.fullmatch(text):
            self.issue(
                "invalid-format", path, f"{label} is not in the format ViSOR needs.", blocking=True
            )
            return None
        etree.SubElement(parent, f"{{{NS}}}{tag}").text = text
        return text

    def date(
        self, parent: etree._Element, tag: str, value: Any, *, path: str, required: bool = False
    ) -> str | None:
        """Write an `xs:date`; a value that is not a real date is a blocking issue."""
        if as_str(value) is None:
            if required:
                self.issue(
                    "missing-field", path, f"{tag} is missing in nDelius; add it.", blocking=True
                )
            return None
        iso = iso_date(value)
        if iso is None:
            self.issue(
                "invalid-date", path, f"{tag} is not a valid date; correct it.", blocking=True
            )
            return None
        etree.SubElement(parent, f"{{{NS}}}{tag}").text = iso
        return iso
