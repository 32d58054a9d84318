"""The mapping engine: a case snapshot and a `MappingSpec` in, ViSOR sections and issues out.

Total and deterministic: whatever the document holds, `Mapper.map_case` returns sections and a
list of issues, never an exception. Values are always written as element text (lxml escapes
markup), so source text can never become XML structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from bridge.core.issues import SENT_MAX, Issue
from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.paths import MISSING, Path, text_of
from bridge.core.mapping.routing import route
from bridge.core.mapping.spec import Clause, FieldSpec, MappingSpec, SectionSpec, SortKey
from bridge.core.mapping.trace import Trace
from bridge.core.mapping.transforms import TRANSFORMS, Problem
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import clean_text

__all__ = ["MappedCase", "MappedSection", "Mapper", "Trace", "case_context"]


@dataclass(frozen=True, slots=True)
class MappedSection:
    """One section's content and the issues found while mapping it.

    Attributes:
        name: the contract section name (`identity`, …, `activity`).
        key: the item key for per-item sections (the nDelius contact id), else "".
        element: the section element (namespace-qualified).
        issues: what a person must check or fix.
    """

    name: str
    key: str
    element: etree._Element
    issues: tuple[Issue, ...]

    @property
    def is_empty(self) -> bool:
        """True when the section holds nothing to enter (e.g. no aliases) and raised nothing."""
        return len(self.element) == 0 and not self.issues


@dataclass(frozen=True, slots=True)
class MappedCase:
    """Every section of one case, and the police force that owns the record."""

    crn: str
    sections: tuple[MappedSection, ...]
    owning_force: str | None
    routing_issues: tuple[Issue, ...]


_MESSAGES = {
    "missing-field": "{label} is missing in nDelius; add it here before approval.",
    "missing-warn": "{label} is not recorded in nDelius; add it if one exists.",
    "wrong-type": "{label} in nDelius is not a single value; check nDelius and enter it by hand.",
    "unknown-code": "{label} has a code that is not in the {hint} code table; choose the right value.",
    "unknown-value": "{label} is recorded as unknown in nDelius; ask the offender manager and set it.",
    "invalid-format": "{label} is not in the format ViSOR needs ({hint}); correct it.",
    "invalid-date": "{label} is not a real date; correct it.",
    "too-long": "{label} is longer than ViSOR allows ({hint} characters); shorten it.",
    "xml-char-removed": "{hint} character(s) XML cannot hold were removed from {label}; check it.",
    "too-many": "Only the first {hint} values of {label} are kept; ViSOR holds no more.",
}


#: Internal distinctions that share one contract issue code.
_PUBLIC_CODES = {"missing-warn": "missing-field", "unknown-value": "unknown-code"}

_SubElement = etree.SubElement


def case_context(snapshot: CaseSnapshot) -> dict[str, Any]:
    """The roots a case-level path starts from (docs/mapping.md, "Where values come from")."""
    mappa = snapshot.latest_mappa()
    return {
        "crn": snapshot.crn,
        "offender": snapshot.offender,
        "registrations": [r.raw for r in snapshot.registrations],
        "contacts": list(snapshot.contacts),
        "access": snapshot.access,
        "mappa": mappa.raw if mappa is not None else None,
        "manager": snapshot.current_manager() or None,
    }


SortFn = Callable[[dict[str, Any]], Any]


Visit = Callable[["_Run", "_Node", etree._Element, Any, str], None]


class _Node:
    """A field spec compiled for speed: qualified tag, transform function, table, sort keys."""

    __slots__ = (
        "apply",
        "as_is",
        "children",
        "get",
        "limit",
        "single",
        "sorts",
        "spec",
        "table",
        "tag",
        "visit",
    )

    def __init__(self, spec: FieldSpec, namespace: str, tables: Mapping[str, CodeTable]) -> None:
        self.spec = spec
        self.tag = f"{{{namespace}}}{spec.element}"
        self.apply = TRANSFORMS[spec.transform].apply
        self.as_is = spec.transform == "text"  # the identity: no call needed
        self.table = tables.get(spec.table) if spec.table else None
        self.children = tuple(_Node(c, namespace, tables) for c in spec.children)
        self.sorts = _compile_sort(spec.sort)
        # The common leaf: one source path, one value.
        plain = spec.source is not None and spec.repeat is None and not spec.children
        self.single = spec.source if plain else None
        self.get = _first_of(spec.source) if spec.source is not None else None
        self.limit = spec.max_length
        #: How `_Run` writes this field, chosen once: `visit(run, node, parent, context, prefix)`.
        self.visit: Visit = (
            _Run.group if self.children else _single_visit(self) if plain else _Run.leaf
        )


class _Run:
    """The state of mapping one section: its issues and trace."""

    __slots__ = ("issues", "mapper", "section", "trace")

    def __init__(self, mapper: Mapper, section: str, trace: Trace | None) -> None:
        self.mapper = mapper
        self.section = section
        self.issues: list[Issue] = []
        self.trace = trace

    def issue(
        self,
        code: str,
        path: str,
        label: str,
        *,
        blocking: bool,
        hint: str = "",
        sent: str | None = None,
    ) -> None:
        message = _MESSAGES[code].format(label=label, hint=hint)
        public = _PUBLIC_CODES.get(code, code)
        self.issues.append(Issue(public, f"{self.section}/{path}", message, blocking, sent))

    def missing(self, spec: FieldSpec, path: str, context: Any) -> None:
        if spec.required == "no" or not self.mapper.holds(spec.required_when, context):
            return
        if spec.required == "block":
            self.issue("missing-field", path, spec.label, blocking=True)
        else:
            self.issue("missing-warn", path, spec.label, blocking=False)

    def emit(self, node: _Node, parent: etree._Element, context: Any, prefix: str) -> None:
        node.visit(self, node, parent, context, prefix)

    def group(self, node: _Node, parent: etree._Element, context: Any, prefix: str) -> None:
        spec = node.spec
        path = prefix + spec.element
        if spec.each is not None:
            items = self.mapper.items(spec.each, spec.where_, node.sorts, context, spec.limit)
            if items and self.trace is not None:
                self.trace.hits.add(spec.where)
            for n, item in enumerate(items, start=1):
                element = etree.SubElement(parent, node.tag)
                inner_prefix = f"{path}[{n}]/"
                for child in node.children:
                    child.visit(self, child, element, item, inner_prefix)
                if spec.distinct and _repeats_a_sibling(element):
                    parent.remove(element)
            if not items:
                self.missing(spec, path, context)
            return
        inner = context
        if spec.source is not None:
            inner = node.get(context) if node.get is not None else spec.source.first(context)
            if inner is MISSING:
                self.missing(spec, path, context)
                return
            if not isinstance(inner, dict):
                self.issue("wrong-type", path, spec.label, blocking=spec.required == "block")
                return
            if self.trace is not None:
                self.trace.hits.add(spec.where)
        element = etree.SubElement(parent, node.tag)
        inner_prefix = path + "/"
        for child in node.children:
            child.visit(self, child, element, inner, inner_prefix)
        if len(element) == 0:
            parent.remove(element)

    def single(
        self, node: _Node, parent: etree._Element, context: Any, prefix: str, raw: Any
    ) -> None:
        """The common leaf (one source, one value) when its fast path (`_single_visit`) could
        not write it: missing, not plain text, or not accepted as it is."""
        spec = node.spec
        if raw is MISSING or (isinstance(raw, str) and not raw.strip()):
            if spec.default is None:
                self.missing(spec, prefix + spec.element, context)
                return
            raw = spec.default
        elif self.trace is not None:
            self.trace.hits.add(spec.where)
        text, problem = self.value(node, raw, prefix + spec.element)
        if text is not None:
            etree.SubElement(parent, node.tag).text = text
        elif not problem:  # e.g. only control characters, or a dummy postcode
            self.missing(spec, prefix + spec.element, context)

    def leaf(self, node: _Node, parent: etree._Element, context: Any, prefix: str) -> None:
        spec = node.spec
        path = prefix + spec.element
        raws = self.raw_values(spec, context)
        if not raws and spec.default is not None:
            raws = [spec.default]
        if not raws:
            self.missing(spec, path, context)
            return
        if spec.repeat is not None and len(raws) > spec.repeat:
            self.issue("too-many", path, spec.label, blocking=False, hint=str(spec.repeat))
            raws = raws[: spec.repeat]
        written = flagged = 0
        for n, raw in enumerate(raws, start=1):
            at = f"{path}[{n}]" if spec.repeat is not None else path
            text, problem = self.value(node, raw, at)
            if text is not None:
                etree.SubElement(parent, node.tag).text = text
                written += 1
            flagged += problem
        if written == 0 and flagged == 0:  # e.g. only spaces, control characters, a dummy postcode
            self.missing(spec, path, context)

    def raw_values(self, spec: FieldSpec, context: Any) -> list[Any]:
        if spec.value is not None:
            return [spec.value]
        if spec.sources:
            parts = [text_of(p.first(context)) for p in spec.sources]
            joined = spec.separator.join(p.strip() for p in parts if p and p.strip())
            if joined and self.trace is not None:
                self.trace.hits.add(spec.where)
            return [joined] if joined else []
        assert spec.source is not None
        if spec.repeat is not None:
            found = [
                v for v in spec.source.values(context) if not (isinstance(v, str) and not v.strip())
            ]
        else:
            first = spec.source.first(context)
            found = (
                []
                if first is MISSING or (isinstance(first, str) and not first.strip())
                else [first]
            )
        if found and self.trace is not None:
            self.trace.hits.add(spec.where)
        return found

    def value(self, node: _Node, raw: Any, path: str) -> tuple[str | None, bool]:
        """The text to write for one raw value, and whether a problem was reported instead."""
        spec = node.spec
        text = raw if type(raw) is str else text_of(raw)
        if text is None:
            self.issue("wrong-type", path, spec.label, blocking=spec.required == "block")
            return None, True
        if text.isascii() and text.isprintable():  # fast path: nothing XML cannot hold
            cleaned = text.strip()
        else:
            cleaned, removed = clean_text(text)
            if removed:
                self.issue("xml-char-removed", path, spec.label, blocking=False, hint=str(removed))
            cleaned = cleaned.strip()
        if not cleaned:
            return None, False
        table = node.table
        result = node.apply(cleaned, table)
        if table is not None and self.trace is not None:
            self.trace.codes.add((table.name, cleaned, table.covers(cleaned)))
        if isinstance(result, Problem):  # the value as sent goes beside the issue (proxies only)
            sent = cleaned[:SENT_MAX]
            self.issue(result.code, path, spec.label, blocking=True, hint=result.hint, sent=sent)
            return None, True
        if result is not None and spec.max_length is not None and len(result) > spec.max_length:
            hint = str(spec.max_length)
            self.issue("too-long", path, spec.label, blocking=True, hint=hint, sent=result)
            return None, True
        return result, False


class Mapper:
    """A compiled mapping: build once from a `MappingSpec`, then map any number of cases."""

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self._ns = spec.namespace
        self._sections = tuple(
            (
                section,
                tuple(_Node(f, spec.namespace, spec.tables) for f in section.fields),
                _compile_sort(section.sort),
            )
            for section in spec.sections
        )
        #: `Path.values` compiled for the paths repeated groups and sections walk, by id.
        self._values: dict[int, tuple[Path, Callable[[Any], Any]]] = {}

    @property
    def version(self) -> str:
        return self.spec.version

    def holds(self, clauses: tuple[Clause, ...], context: Any) -> bool:
        for clause in clauses:  # noqa: SIM110 - a loop, not all(): no generator per call
            if not self._holds(clause, context):
                return False
        return True

    def _holds(self, clause: Clause, context: Any) -> bool:
        if clause.any_of:
            return any(self._holds(c, context) for c in clause.any_of)
        assert clause.path is not None
        value = clause.path.first(context)
        if clause.differs_from is not None:
            mine = _same_name(value)
            return mine != "" and mine != _same_name(clause.differs_from.first(context))
        if clause.present is not None:
            return (value is not MISSING) is clause.present
        text = text_of(value) if value is not MISSING else None
        if clause.table is not None:
            table = self.spec.tables.get(clause.table)
            return text is not None and table is not None and table.lookup(text).value is not None
        assert clause.values is not None
        return (text in clause.values) != clause.negate

    def items(
        self,
        each: Path,
        where: tuple[Clause, ...],
        sorts: tuple[tuple[SortFn, bool], ...],
        context: Any,
        limit: int | None,
    ) -> list[dict[str, Any]]:
        """The objects a repeated group or section walks, filtered, sorted and limited."""
        compiled = self._values.get(id(each))
        if compiled is None or compiled[0] is not each:
            compiled = self._values[id(each)] = (each, _values_of(each))
        found = compiled[1](context)
        if where:
            items = [i for i in found if isinstance(i, dict) and self.holds(where, i)]
        else:
            items = [i for i in found if isinstance(i, dict)]
        for key, descending in reversed(sorts):  # stable sorts, least significant key first
            items.sort(key=key, reverse=descending)
        return items[:limit] if limit is not None else items

    def map_case(self, snapshot: CaseSnapshot, *, trace: Trace | None = None) -> MappedCase:
        """Map every section of one case; never raises, whatever the document holds.

        Args:
            snapshot: the case as read from nDelius.
            trace: when given, records which fields and codes the case used.

        Returns:
            The sections in spec order (`activity` once per flagged contact) and the routing.
        """
        context = case_context(snapshot)
        sections: list[MappedSection] = []
        for section, nodes, sorts in self._sections:
            if section.each is None:
                sections.append(self._build(section, nodes, context, "", trace))
                continue
            assert section.key is not None
            items = self.items(section.each, section.filters, sorts, context, None)
            for n, item in enumerate(items, start=1):
                key = text_of(section.key.first(item)) or f"item-{n}"
                sections.append(self._build(section, nodes, item, key, trace))
        force, routing_issues = route(self.spec.routing, self.spec.tables, context, trace=trace)
        return MappedCase(snapshot.crn, tuple(sections), force, tuple(routing_issues))

    def _build(
        self,
        section: SectionSpec,
        nodes: tuple[_Node, ...],
        context: Any,
        key: str,
        trace: Trace | None,
    ) -> MappedSection:
        root = etree.Element(f"{{{self._ns}}}{section.element}", nsmap={None: self._ns})
        for name, value in section.attributes:
            root.set(name, value)
        run = _Run(self, section.name, trace)
        for node in nodes:
            node.visit(run, node, root, context, "")
        return MappedSection(section.name, key, root, tuple(run.issues))


def _first_of(path: Path) -> Callable[[Any], Any]:
    """`path.first`, unrolled for the common paths of one or two keys (most fields)."""
    keys = path.keys
    if keys is not None and len(keys) == 1:
        (key,) = keys

        def first1(context: Any) -> Any:
            if isinstance(context, dict):
                value = context.get(key)
                if value is not None:
                    return value
            return MISSING

        return first1
    if keys is not None and len(keys) == 2:
        outer, inner = keys

        def first2(context: Any) -> Any:
            if isinstance(context, dict):
                middle = context.get(outer)
                if isinstance(middle, dict):
                    value = middle.get(inner)
                    if value is not None:
                        return value
            return MISSING

        return first2
    return path.first


def _values_of(path: Path) -> Callable[[Any], Any]:
    """`path.values`, as one list, for the common walk: keys, then every element of an array."""
    steps = path.steps
    last = steps[-1] if steps else None
    if last is None or not last.spread or last.filter_path is not None:
        return path.values
    if any(step.spread for step in steps[:-1]):
        return path.values
    keys, final = tuple(step.key for step in steps[:-1]), last.key

    def values(context: Any) -> list[Any]:
        value = context
        for key in keys:
            if not isinstance(value, dict):
                return []
            value = value.get(key)
        if not isinstance(value, dict):
            return []
        found = value.get(final)
        if not isinstance(found, list):
            return []
        return [item for item in found if item is not None]

    return values


def _single_visit(node: _Node) -> Visit:
    """The common leaf's writer, with what it reads of its node bound once: clean text that
    the transform accepts as it is (most fields, most cases) is written here; anything else
    goes to `_Run.single`."""
    get, tag, table, limit, where = node.get, node.tag, node.table, node.limit, node.spec.where
    apply = None if node.as_is else node.apply
    slow = _Run.single
    assert get is not None
    assert node.spec.source is not None
    keys = node.spec.source.keys
    key = keys[0] if keys is not None and len(keys) == 1 else None  # most fields: read inline

    def visit(run: _Run, node: _Node, parent: etree._Element, context: Any, prefix: str) -> None:
        if key is not None and type(context) is dict:
            raw = context.get(key)
            if raw is None:
                raw = MISSING
        else:
            raw = get(context)
        if type(raw) is str and raw.isascii() and raw.isprintable():
            cleaned = raw.strip()
            if apply is None:
                result: Any = cleaned or None
            else:
                result = apply(cleaned, table) if cleaned else None
            if type(result) is str and (limit is None or len(result) <= limit):
                trace = run.trace
                if trace is not None:
                    trace.hits.add(where)
                    if table is not None:
                        trace.codes.add((table.name, cleaned, True))
                _SubElement(parent, tag).text = result
                return
        slow(run, node, parent, context, prefix, raw)

    return visit


def _repeats_a_sibling(element: etree._Element) -> bool:
    """True when an earlier sibling has the same tag and the same content (`distinct`)."""
    return any(_same_tree(element, other) for other in element.itersiblings(preceding=True))


def _same_tree(a: etree._Element, b: etree._Element) -> bool:
    """The same element: tag, attributes, text and children, compared without serialising."""
    if a.tag != b.tag or a.text != b.text or len(a) != len(b) or dict(a.attrib) != dict(b.attrib):
        return False
    return all(x.tail == y.tail and _same_tree(x, y) for x, y in zip(a, b, strict=True))


def _same_name(value: Any) -> str:
    """A value as a name compares: trimmed, spaces collapsed, case ignored ("" if not text)."""
    return " ".join(value.split()).casefold() if isinstance(value, str) else ""


def _compile_sort(keys: tuple[SortKey, ...]) -> tuple[tuple[SortFn, bool], ...]:
    return tuple((_sort_key(k), k.descending) for k in keys)


def _sort_key(key: SortKey) -> SortFn:
    rank = {value: i for i, value in enumerate(key.order)}
    first, descending, absent = _first_of(key.path), key.descending, len(rank)

    def sort_value(item: dict[str, Any]) -> tuple[int, int, str]:
        value = first(item)
        text = value if type(value) is str else text_of(value)
        if text is None:  # absent values go last whichever way the key sorts
            return (0, 0, "") if descending else (1, 0, "")
        position = rank.get(text, absent) if rank else 0
        return (1, -position, text) if descending else (0, position, text)

    return sort_value
