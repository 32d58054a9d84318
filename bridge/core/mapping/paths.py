"""Source paths: where a mapped field comes from in a case document, e.g. `offender.otherIds.pncNumber`.

A path is segments joined by `.`. Each segment names a key of a JSON object and may end in:

- `[]` — every element of the array there (`offender.contactDetails.addresses[]`);
- `[sub.path=VALUE]` — the elements whose `sub.path` is the text `VALUE`
  (`offender.additionalIdentifiers[type.code=VISO].value`); `[sub.path=A|B]` accepts either.

Resolution never raises: a missing key, a `null`, or a value of the wrong shape simply yields
nothing, and the mapping decides whether that is an issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "Path", "PathError", "parse_path", "text_of"]

_SEGMENT = re.compile(
    r"(?P<key>[A-Za-z_$][A-Za-z0-9_-]*)(?:\[(?:(?P<fpath>[A-Za-z0-9_.-]+)=(?P<fvalue>[^\]]*))?\])?",
    re.ASCII,
)


class _Missing:
    """The absence of a value (distinct from a JSON `null`, which is also treated as absent)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class PathError(ValueError):
    """A path string that does not follow the grammar in this module's docstring."""


def text_of(value: Any) -> str | None:
    """The value as filter text: strings as they are, numbers and booleans as JSON writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


@dataclass(frozen=True, slots=True)
class _Step:
    key: str
    spread: bool  # `[]` or a filter: the value is an array whose elements we walk
    filter_path: Path | None
    filter_values: frozenset[str]


@dataclass(frozen=True, slots=True)
class Path:
    """A compiled source path. `text` is what the spec said, for messages."""

    text: str
    steps: tuple[_Step, ...]
    #: For a path without `[]` or filters: its keys, so `first` is a plain chain of lookups.
    keys: tuple[str, ...] | None = None

    @property
    def is_multi(self) -> bool:
        """True when the path can yield more than one value."""
        return self.keys is None

    def values(self, context: Any) -> Iterator[Any]:
        """Every value the path reaches in `context`, in document order (nulls skipped)."""
        return self._walk(context, 0)

    def first(self, context: Any) -> Any:
        """The first value the path reaches, or `MISSING`."""
        keys = self.keys
        if keys is None:
            return next(self._walk(context, 0), MISSING)
        value = context
        for key in keys:  # the common case, kept cheap: a chain of dict lookups
            if not isinstance(value, dict):
                return MISSING
            value = value.get(key)
            if value is None:
                return MISSING
        return value

    def _walk(self, value: Any, index: int) -> Iterator[Any]:
        if index == len(self.steps):
            if value is not None:
                yield value
            return
        step = self.steps[index]
        if not isinstance(value, dict):
            return
        child = value.get(step.key)
        if not step.spread:
            yield from self._walk(child, index + 1)
            return
        if not isinstance(child, list):
            return
        for item in child:
            if step.filter_path is not None and not _matches(item, step):
                continue
            yield from self._walk(item, index + 1)


def _matches(item: Any, step: _Step) -> bool:
    assert step.filter_path is not None
    return text_of(step.filter_path.first(item)) in step.filter_values


def parse_path(text: str) -> Path:
    """Compile a path string.

    Raises:
        PathError: the text does not follow the grammar.
    """
    if not isinstance(text, str) or not text:
        raise PathError("a path must be non-empty text such as 'offender.surname'")
    steps = []
    for raw in _split(text):
        match = _SEGMENT.fullmatch(raw)
        if match is None:
            raise PathError(f"'{raw}' in '{text}' is not a key, key[] or key[sub.path=VALUE]")
        fpath = match.group("fpath")
        steps.append(
            _Step(
                key=match.group("key"),
                spread=raw.endswith("]"),
                filter_path=parse_path(fpath) if fpath else None,
                filter_values=frozenset(match.group("fvalue").split("|")) if fpath else frozenset(),
            )
        )
    simple = not any(step.spread for step in steps)
    return Path(text, tuple(steps), tuple(step.key for step in steps) if simple else None)


def _split(text: str) -> list[str]:
    """Split on dots outside brackets (a filter's sub-path has dots of its own)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "." and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    if depth != 0 or any(p == "" for p in parts):
        raise PathError(f"'{text}' has an empty segment or unbalanced brackets")
    return parts
