"""Code tables: nDelius codes to ViSOR values, read from `mappings/<version>/codes/*.toml`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CodeTable", "Lookup", "parse_code_table"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The result of looking a code up: the ViSOR value, or why there is none."""

    value: str | None
    known_unknown: bool = False  # nDelius records "unknown" (e.g. MAPPA category X9) on purpose


@dataclass(frozen=True, slots=True)
class CodeTable:
    """One code table.

    Attributes:
        name: the file name without `.toml`, as fields refer to it (`table = "genders"`).
        codes: code → ViSOR value.
        unknown: codes nDelius uses to mean "not known" (they map to nothing, with their own issue).
        case_insensitive: whether `m` matches `M` (codes are compared after trimming either way).
    """

    name: str
    codes: Mapping[str, str]
    unknown: frozenset[str] = frozenset()
    case_insensitive: bool = False

    def lookup(self, code: str) -> Lookup:
        key = code.strip()
        if self.case_insensitive:
            key = key.casefold()
        value = self.codes.get(key)
        if value is not None:
            return Lookup(value)
        return Lookup(None, known_unknown=key in self.unknown)

    def covers(self, code: str) -> bool:
        """True when the code is in the table or is one of its declared unknowns."""
        found = self.lookup(code)
        return found.value is not None or found.known_unknown


def parse_code_table(
    name: str, data: Mapping[str, Any], *, where: str
) -> tuple[CodeTable, list[str]]:
    """Build a table from a parsed TOML document; problems name `where` and the key.

    Returns:
        The table (possibly partial) and every problem found.
    """
    problems: list[str] = []
    meta = data.get("table", {})
    if not isinstance(meta, dict):
        problems.append(f"{where}: [table] must be a table")
        meta = {}
    for key in meta:
        if key not in {"description", "unknown", "case_insensitive"}:
            problems.append(f"{where}: [table].{key} is not a known setting")
    if not isinstance(meta.get("description"), str):
        problems.append(f"{where}: [table].description must say what the table is for")
    insensitive = meta.get("case_insensitive", False)
    if not isinstance(insensitive, bool):
        problems.append(f"{where}: [table].case_insensitive must be true or false")
        insensitive = False
    unknown = meta.get("unknown", [])
    if not isinstance(unknown, list) or not all(isinstance(u, str) for u in unknown):
        problems.append(f"{where}: [table].unknown must be a list of codes")
        unknown = []
    raw = data.get("codes")
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: [codes] must be a table with at least one code")
        raw = {}
    codes: dict[str, str] = {}
    for code, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: [codes].{code} must be non-empty text")
            continue
        key = code.casefold() if insensitive else code
        if key in codes:
            problems.append(f"{where}: [codes].{code} repeats a code (the table ignores case)")
        codes[key] = value
    for extra in set(data) - {"table", "codes"}:
        problems.append(
            f"{where}: [{extra}] is not part of a code table (only [table] and [codes])"
        )
    unknowns = frozenset(u.casefold() if insensitive else u for u in unknown)
    table = CodeTable(name, codes, unknowns, bool(insensitive))
    return table, problems
