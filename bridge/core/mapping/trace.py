"""What a mapping run touched: fields that found a value and codes looked up (for spec checks)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Trace"]


@dataclass
class Trace:
    """Filled in by `Mapper.map_case(..., trace=...)` when `visor-bridge mappings check` runs.

    Attributes:
        hits: `where` of every field whose source held a value at least once.
        codes: (table, code, covered) for every code looked up, `covered` meaning the table
            holds it or declares it as one of its `unknown` codes.
    """

    hits: set[str] = field(default_factory=set)
    codes: set[tuple[str, str, bool]] = field(default_factory=set)
