"""Parsing the `[[fields]]` of one section file, with conditions and sort keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.paths import Path, PathError, parse_path
from bridge.core.mapping.spec import (
    FIELD_KEYS,
    Clause,
    FieldSpec,
    Required,
    SortKey,
)
from bridge.core.mapping.transforms import TRANSFORMS

__all__ = ["ELEMENT", "Problems", "SectionParser", "parse_path_at"]

ELEMENT = re.compile(r"[A-Z][A-Za-z0-9]*")


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def parse_path_at(
    value: Any, where: str, problems: Problems, *, roots: frozenset[str] | None = None
) -> Path | None:
    try:
        path = parse_path(value)
    except PathError as exc:
        problems.add(where, str(exc))
        return None
    if roots is not None and path.steps[0].key not in roots:
        problems.add(
            where,
            f"'{path.text}' must start with one of {', '.join(sorted(roots))} "
            "(or be inside a repeated group)",
        )
    return path


class SectionParser:
    """Parses one section file's fields, tracking lines so messages can point at them."""

    def __init__(self, file: str, text: str, tables: Mapping[str, CodeTable], problems: Problems):
        self.file = file
        self.lines = text.splitlines()
        # Field lines start after the [section] table, whose `element` is not a field's.
        self.cursor = next(
            (i for i, line in enumerate(self.lines) if line.lstrip().startswith("[[fields")), 0
        )
        self.tables = tables
        self.problems = problems

    def _next_line(self, pattern: str) -> int | None:
        regex = re.compile(pattern)
        for i in range(self.cursor, len(self.lines)):
            if regex.match(self.lines[i]):
                self.cursor = i + 1
                return i + 1
        return None

    def clauses(self, raw: Any, where: str) -> tuple[Clause, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problems.add(
                where, 'must be a list of conditions like { path = "...", in = [...] }'
            )
            return ()
        return tuple(
            c for c in (self.clause(item, f"{where}[{i}]") for i, item in enumerate(raw, 1)) if c
        )

    def clause(self, raw: Any, where: str) -> Clause | None:
        if not isinstance(raw, dict):
            self.problems.add(where, 'must be a table like { path = "...", in = [...] }')
            return None
        if "any" in raw:
            alternatives = self.clauses(raw["any"], f"{where}.any")
            return Clause(any_of=alternatives) if alternatives else None
        known = {"path", "in", "not_in", "in_table", "present", "differs_from"}
        for key in set(raw) - known:
            self.problems.add(
                where, f"'{key}' is not a condition key (use {', '.join(sorted(known))} or any)"
            )
        path = parse_path_at(raw.get("path"), f"{where}.path", self.problems)
        if path is None:
            return None
        kinds = [k for k in ("in", "not_in", "in_table", "present", "differs_from") if k in raw]
        if len(kinds) != 1:
            self.problems.add(
                where, "needs exactly one of in, not_in, in_table, present or differs_from"
            )
            return None
        kind = kinds[0]
        if kind == "differs_from":
            other = parse_path_at(raw["differs_from"], f"{where}.differs_from", self.problems)
            return Clause(path=path, differs_from=other) if other is not None else None
        if kind == "present":
            if not isinstance(raw["present"], bool):
                self.problems.add(where, "present must be true or false")
            return Clause(path=path, present=bool(raw["present"]))
        if kind == "in_table":
            if not isinstance(raw["in_table"], str) or raw["in_table"] not in self.tables:
                self.problems.add(
                    where, f"in_table names '{raw['in_table']}', which is not a code table"
                )
            return Clause(path=path, table=str(raw["in_table"]))
        values = raw[kind]
        if not isinstance(values, list) or not all(isinstance(v, str | bool | int) for v in values):
            self.problems.add(where, f"{kind} must be a list of text, numbers or true/false")
            return None
        texts = frozenset(
            ("true" if v else "false") if isinstance(v, bool) else str(v) for v in values
        )
        return Clause(path=path, values=texts, negate=kind == "not_in")

    def sort_keys(self, raw: Any, where: str) -> tuple[SortKey, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problems.add(where, 'must be a list like [{ by = "from", descending = true }]')
            return ()
        keys = []
        for i, item in enumerate(raw, 1):
            at = f"{where}[{i}]"
            if not isinstance(item, dict) or set(item) - {"by", "order", "descending"}:
                self.problems.add(at, "must be a table with by, and optionally order or descending")
                continue
            path = parse_path_at(item.get("by"), f"{at}.by", self.problems)
            order = item.get("order", [])
            if not isinstance(order, list) or not all(isinstance(o, str) for o in order):
                self.problems.add(f"{at}.order", "must be a list of text values")
                order = []
            descending = item.get("descending", False)
            if not isinstance(descending, bool):
                self.problems.add(f"{at}.descending", "must be true or false")
                descending = False
            if path is not None:
                keys.append(SortKey(path, tuple(order), descending))
        return tuple(keys)

    def fields(
        self, raw: Any, where: str, *, parent: str, roots: frozenset[str] | None
    ) -> tuple[FieldSpec, ...]:
        if not isinstance(raw, list) or not raw:
            self.problems.add(
                f"{self.file} {where}", "must list at least one field ([[fields]] tables)"
            )
            return ()
        out = []
        for i, item in enumerate(raw, 1):
            parsed = self.field(item, f"{where}[{i}]", parent=parent, roots=roots)
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    def field(
        self, raw: Any, key: str, *, parent: str, roots: frozenset[str] | None
    ) -> FieldSpec | None:
        if not isinstance(raw, dict):
            self.problems.add(f"{self.file} {key}", "must be a table")
            return None
        element = raw.get("element")
        # Only a field that has an `element` line may claim the next one.
        line = self._next_line(r"\s*element\s*=") if "element" in raw else None
        here = f"{self.file} {key}" + (f" (line {line})" if line else "")
        if not isinstance(element, str) or not ELEMENT.fullmatch(element):
            self.problems.add(here, "element must be an XML element name like 'Surname'")
            element = "Invalid"
        label = f"{parent}/{element}" if parent else element
        here = f"{self.file} {key} ({label}" + (f", line {line})" if line else ")")
        for unknown in sorted(set(raw) - FIELD_KEYS):
            self.problems.add(here, f"'{unknown}' is not a field setting (see docs/mapping.md)")
        each = (
            parse_path_at(raw["each"], f"{here} each", self.problems, roots=roots)
            if "each" in raw
            else None
        )
        child_roots = None if each is not None or "source" in raw else roots
        source = (
            parse_path_at(raw["source"], f"{here} source", self.problems, roots=roots)
            if "source" in raw
            else None
        )
        sources: tuple[Path, ...] = ()
        if "sources" in raw:
            if not isinstance(raw["sources"], list) or not raw["sources"]:
                self.problems.add(f"{here} sources", "must be a list of paths")
            else:
                sources = tuple(
                    p
                    for p in (
                        parse_path_at(s, f"{here} sources", self.problems, roots=roots)
                        for s in raw["sources"]
                    )
                    if p
                )
        required = raw.get("required", False)
        required_kind: Required = (
            "block" if required is True else "warn" if required == "warn" else "no"
        )
        if not (isinstance(required, bool) or required == "warn"):  # 1 == True, so test the type
            self.problems.add(f"{here} required", 'must be true, false or "warn"')
        max_length, repeat, limit = raw.get("max_length"), raw.get("repeat"), raw.get("limit")
        for name, number in (("max_length", max_length), ("repeat", repeat), ("limit", limit)):
            if number is not None and not _is_count(number):
                self.problems.add(f"{here} {name}", "must be a whole number of at least 1")
        max_length = max_length if _is_count(max_length) else None
        repeat = repeat if _is_count(repeat) else None
        limit = limit if _is_count(limit) else None
        for name in ("value", "default", "separator", "label", "help"):
            if name in raw and not isinstance(raw[name], str):
                self.problems.add(f"{here} {name}", "must be text")
        children: tuple[FieldSpec, ...] = ()
        if "fields" in raw:
            children = self.fields(raw["fields"], f"{key}.fields", parent=label, roots=child_roots)
            leaf_only = {
                "sources",
                "value",
                "default",
                "transform",
                "table",
                "max_length",
                "repeat",
            }
            for bad in sorted(leaf_only & set(raw)):
                self.problems.add(here, f"'{bad}' applies to a value, not to a group of fields")
        else:
            if each is not None:
                self.problems.add(here, "each needs fields to repeat")
            if "distinct" in raw:
                self.problems.add(here, "'distinct' applies to a group of fields, not to a value")
            if sum(k in raw for k in ("source", "sources", "value")) != 1:
                self.problems.add(here, "needs exactly one of source, sources or value")
        distinct = raw.get("distinct", False)
        if not isinstance(distinct, bool):
            self.problems.add(f"{here} distinct", "must be true or false")
        transform = raw.get("transform", "text")
        if not isinstance(transform, str) or transform not in TRANSFORMS:
            self.problems.add(
                f"{here} transform",
                f"'{transform}' is not a transform (known: {', '.join(sorted(TRANSFORMS))})",
            )
            transform = "text"
        table = raw.get("table")
        if TRANSFORMS[transform].needs_table and table is None:
            self.problems.add(f"{here} table", f"transform '{transform}' needs a table")
        if table is not None and (not isinstance(table, str) or table not in self.tables):
            self.problems.add(f"{here} table", f"'{table}' is not a code table in codes/")
        return FieldSpec(
            element=element,
            label=str(raw.get("label", label)),
            where=here,
            source=source,
            sources=sources,
            separator=str(raw.get("separator", " ")),
            value=raw.get("value") if isinstance(raw.get("value"), str) else None,
            default=raw.get("default") if isinstance(raw.get("default"), str) else None,
            transform=transform,
            table=table if isinstance(table, str) else None,
            required=required_kind,
            required_when=self.clauses(raw.get("required_when"), f"{here} required_when"),
            max_length=max_length,
            repeat=repeat,
            children=children,
            each=each,
            where_=self.clauses(raw.get("where"), f"{here} where"),
            sort=self.sort_keys(raw.get("sort"), f"{here} sort"),
            limit=limit,
            distinct=distinct is True,
            help=(raw["help"].strip() or None) if isinstance(raw.get("help"), str) else None,
        )


def _is_count(value: Any) -> bool:
    """A whole number of at least 1 (TOML `true` is not one, though Python says bool is int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
