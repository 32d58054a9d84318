"""The mapping spec: TOML text in, a checked, frozen `MappingSpec` out (every problem reported at once).

The format is documented for analysts in docs/mapping.md. In short, `mapping.toml` names the
version, schema, sections and routing; each `sections/<name>.toml` lists the section's output
fields in ViSOR order; `codes/<table>.toml` are code tables. This module only parses text it is
given; reading files is `bridge.mapping_files`'s job. Parsing is in `bridge.core.mapping.spec_parse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.paths import Path

__all__ = [
    "CASE_ROOTS",
    "FIELD_KEYS",
    "SECTION_KEYS",
    "SECTION_NAMES",
    "Clause",
    "FieldSpec",
    "MappingSpec",
    "Routing",
    "SectionSpec",
    "SortKey",
]

#: The contract's section names, in ViSOR record order.
SECTION_NAMES = (
    "identity",
    "aliases",
    "addresses",
    "mappa",
    "risk",
    "registrations",
    "managing-officer",
    "activity",
)
#: What a case-level path may start with (see docs/mapping.md, "Where values come from").
CASE_ROOTS = frozenset(
    {"crn", "offender", "registrations", "contacts", "access", "mappa", "manager"}
)
FIELD_KEYS = frozenset(
    {
        "element", "label", "source", "sources", "separator", "value", "default", "transform",
        "table", "required", "required_when", "max_length", "repeat", "fields", "each", "where",
        "sort", "limit", "distinct", "help",
    }
)  # fmt: skip
SECTION_KEYS = frozenset({"name", "element", "each", "key", "where", "sort", "attributes"})
Required = Literal["no", "warn", "block"]


@dataclass(frozen=True, slots=True)
class Clause:
    """One condition on an item: `path` against allowed values, a code table, presence, or
    another path (`differs_from`: the value is text that is not the same name as the other's).

    `any_of` holds alternatives instead (the clause holds when one of them does).
    """

    path: Path | None = None
    values: frozenset[str] | None = None
    table: str | None = None
    negate: bool = False
    present: bool | None = None
    any_of: tuple[Clause, ...] = ()
    differs_from: Path | None = None


@dataclass(frozen=True, slots=True)
class SortKey:
    path: Path
    order: tuple[str, ...] = ()
    descending: bool = False


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One output element: a leaf with a value, or a group of child fields (optionally repeated)."""

    element: str
    label: str
    where: str  # file and key, for messages: "sections/identity.toml fields[3] (line 20)"
    source: Path | None = None
    sources: tuple[Path, ...] = ()
    separator: str = " "
    value: str | None = None
    default: str | None = None
    transform: str = "text"
    table: str | None = None
    required: Required = "no"
    required_when: tuple[Clause, ...] = ()
    max_length: int | None = None
    repeat: int | None = None
    children: tuple[FieldSpec, ...] = ()
    each: Path | None = None
    where_: tuple[Clause, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    #: For a group: not written when an earlier sibling element has the same name and content.
    distinct: bool = False
    #: One plain-English hint for the proxy's question page (`help` in the spec), or None.
    help: str | None = None

    @property
    def is_group(self) -> bool:
        return bool(self.children)


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """One section of the nominal record; with `each`, one section element per item (activity)."""

    name: str
    element: str
    fields: tuple[FieldSpec, ...]
    where: str
    each: Path | None = None
    key: Path | None = None
    filters: tuple[Clause, ...] = ()
    sort: tuple[SortKey, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Routing:
    """How the owning police force is chosen (see docs/mapping.md, "Routing")."""

    main_address: Path
    postcode: Path
    no_fixed_abode: Path
    area: Path
    postcode_areas: str
    area_defaults: str
    forces: str


@dataclass(frozen=True, slots=True)
class MappingSpec:
    version: str
    namespace: str
    schema: str
    sections: tuple[SectionSpec, ...]
    tables: Mapping[str, CodeTable]
    routing: Routing
