"""Parse a whole mapping (mapping.toml, section files, code tables) into a checked `MappingSpec`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from bridge.core.mapping.codes import CodeTable, parse_code_table
from bridge.core.mapping.paths import Path
from bridge.core.mapping.spec import (
    CASE_ROOTS,
    SECTION_KEYS,
    SECTION_NAMES,
    MappingSpec,
    Routing,
    SectionSpec,
)
from bridge.core.mapping.spec_fields import ELEMENT, Problems, SectionParser, parse_path_at
from bridge.core.xmltext import clean_text

ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*", re.ASCII)

__all__ = ["parse_spec"]


def _load(name: str, text: str, problems: Problems) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(name, f"not valid TOML ({exc})")
        return {}


def _section(
    name: str, text: str, tables: Mapping[str, CodeTable], problems: Problems
) -> SectionSpec | None:
    file = f"sections/{name}.toml"
    data = _load(file, text, problems)
    if not data:
        return None
    head = data.get("section")
    if not isinstance(head, dict):
        problems.add(file, "[section] is missing (it names the section and its element)")
        return None
    for key in sorted(set(head) - SECTION_KEYS):
        problems.add(file, f"[section].{key} is not a section setting")
    for key in sorted(set(data) - {"section", "fields"}):
        problems.add(file, f"[{key}] is not part of a section file (only [section] and [[fields]])")
    if head.get("name") != name:
        problems.add(file, f"[section].name must be '{name}' (the file's name)")
    element = head.get("element")
    if not isinstance(element, str) or not ELEMENT.fullmatch(element):
        problems.add(file, "[section].element must be an XML element name like 'Identity'")
        element = "Invalid"
    parser = SectionParser(file, text, tables, problems)
    each = (
        parse_path_at(head["each"], f"{file} [section].each", problems, roots=CASE_ROOTS)
        if "each" in head
        else None
    )
    key = parse_path_at(head["key"], f"{file} [section].key", problems) if "key" in head else None
    if (each is None) != (key is None):
        problems.add(
            file, "[section].each and [section].key go together (one record per item, keyed)"
        )
    attributes = head.get("attributes", {})
    if not isinstance(attributes, dict) or not all(
        ATTRIBUTE.fullmatch(k) and isinstance(v, str) and clean_text(v) == (v, 0)
        for k, v in attributes.items()
    ):
        problems.add(file, "[section].attributes must map XML attribute names to text XML can hold")
        attributes = {}
    fields = parser.fields(
        data.get("fields"), "fields", parent="", roots=None if each is not None else CASE_ROOTS
    )
    return SectionSpec(
        name=name,
        element=element,
        fields=fields,
        where=file,
        each=each,
        key=key,
        filters=parser.clauses(head.get("where"), f"{file} [section].where"),
        sort=parser.sort_keys(head.get("sort"), f"{file} [section].sort"),
        attributes=tuple(sorted(attributes.items())),
    )


def _routing(raw: Any, tables: Mapping[str, CodeTable], problems: Problems) -> Routing | None:
    where = "mapping.toml [routing]"
    if not isinstance(raw, dict):
        problems.add(where, "is missing (it says how the owning police force is chosen)")
        return None
    paths: dict[str, Path | None] = {}
    for key, roots in (
        ("main_address", CASE_ROOTS),
        ("postcode", None),
        ("no_fixed_abode", None),
        ("area", CASE_ROOTS),
    ):
        if key not in raw:
            problems.add(where, f"{key} is missing")
            paths[key] = None
        else:
            paths[key] = parse_path_at(raw[key], f"{where}.{key}", problems, roots=roots)
    names = {}
    for key in ("postcode_areas", "area_defaults", "forces"):
        value = raw.get(key)
        if not isinstance(value, str) or value not in tables:
            problems.add(where, f"{key} must name a code table in codes/ (got {value!r})")
        names[key] = str(value)
    for key in sorted(set(raw) - set(paths) - set(names)):
        problems.add(where, f"{key} is not a routing setting")
    if any(p is None for p in paths.values()) or any(n not in tables for n in names.values()):
        return None
    forces = tables[names["forces"]]
    for table_name in (names["postcode_areas"], names["area_defaults"]):
        for code, force in tables[table_name].codes.items():
            if force not in forces.codes:
                problems.add(
                    f"codes/{table_name}.toml [codes].{code}",
                    f"'{force}' is not a force in codes/{names['forces']}.toml",
                )
    main, postcode, nfa, area = (
        paths[k] for k in ("main_address", "postcode", "no_fixed_abode", "area")
    )
    assert main is not None
    assert postcode is not None
    assert nfa is not None
    assert area is not None
    return Routing(
        main, postcode, nfa, area, names["postcode_areas"], names["area_defaults"], names["forces"]
    )


def parse_spec(
    mapping_toml: str, sections: Mapping[str, str], codes: Mapping[str, str]
) -> tuple[MappingSpec | None, list[str]]:
    """Parse and check a whole mapping.

    Args:
        mapping_toml: the text of `mapping.toml`.
        sections: section name → text of `sections/<name>.toml` (those present on disk).
        codes: table name → text of `codes/<name>.toml`.

    Returns:
        The spec (None if anything is wrong) and every problem found, each naming its file and key.
    """
    problems = Problems()
    tables: dict[str, CodeTable] = {}
    for name, text in sorted(codes.items()):
        data = _load(f"codes/{name}.toml", text, problems)
        if data:
            table, found = parse_code_table(name, data, where=f"codes/{name}.toml")
            problems.items.extend(found)
            tables[name] = table
    head_doc = _load("mapping.toml", mapping_toml, problems)
    head = head_doc.get("mapping")
    if not isinstance(head, dict):
        problems.add("mapping.toml", "[mapping] is missing")
        head = {}
    version = head.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"visor-v\d+(\.\d+)*", version):
        problems.add("mapping.toml [mapping].version", "must be text like 'visor-v1.1'")
    for key in ("namespace", "schema"):
        if not isinstance(head.get(key), str):
            problems.add(f"mapping.toml [mapping].{key}", "must be text")
    order = head.get("sections")
    if not isinstance(order, list) or not order:
        problems.add("mapping.toml [mapping].sections", "must list the sections in record order")
        order = []
    seen: set[str] = set()
    for name in order:
        if not isinstance(name, str) or name not in SECTION_NAMES:
            problems.add(
                "mapping.toml [mapping].sections",
                f"'{name}' is not a section (one of {', '.join(SECTION_NAMES)})",
            )
        elif name in seen:
            problems.add("mapping.toml [mapping].sections", f"'{name}' is listed twice")
        elif name not in sections:
            problems.add(f"sections/{name}.toml", "file is missing")
        if isinstance(name, str):
            seen.add(name)
    order = list(dict.fromkeys(n for n in order if isinstance(n, str)))
    for name in sorted(set(sections) - set(order)):
        problems.add(f"sections/{name}.toml", "is not listed in mapping.toml [mapping].sections")
    specs = tuple(
        s
        for s in (
            _section(n, sections[n], tables, problems)
            for n in order
            if n in SECTION_NAMES and n in sections
        )
        if s is not None
    )
    routing = _routing(head_doc.get("routing"), tables, problems)
    if problems.items or routing is None:
        return None, problems.items
    return (
        MappingSpec(
            version=str(version),
            namespace=str(head["namespace"]),
            schema=str(head["schema"]),
            sections=specs,
            tables=tables,
            routing=routing,
        ),
        [],
    )
