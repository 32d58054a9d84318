"""Reads a mapping folder (mapping.toml, sections/, codes/, scope.toml, the XSD) into a bundle.

Every problem in the folder is reported at once, each naming its file and key, in one
`MappingSpecError`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.core.mapping.engine import Mapper
from bridge.core.mapping.spec import MappingSpec
from bridge.core.mapping.spec_parse import parse_spec
from bridge.core.scope import CATEGORY_TABLE, LEVEL_TABLE, ScopeRules
from bridge.core.xmltext import UnsafeXML, parse_untrusted
from bridge.errors import MappingSpecError

__all__ = ["MappingBundle", "load_mapping"]


@dataclass(frozen=True)
class MappingBundle:
    """Everything the core needs from a mapping folder, already parsed and checked."""

    folder: Path
    spec: MappingSpec
    mapper: Mapper
    schema: etree.XMLSchema
    scope: ScopeRules

    @property
    def version(self) -> str:
        return self.spec.version


def _read(path: Path, problems: list[str], folder: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path.relative_to(folder)}: file is missing")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.relative_to(folder)}: cannot be read ({exc})")
    return None


def _texts(folder: Path, problems: list[str]) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        text = _read(path, problems, folder.parent)
        if text is not None:
            out[path.stem] = text
    return out


def _int_set(
    table: dict[str, Any], key: str, allowed: range, problems: list[str]
) -> frozenset[int]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(v, int) and v in allowed for v in value):
        problems.append(
            f"scope.toml [scope].{key}: must be a list of whole numbers "
            f"{allowed.start}-{allowed.stop - 1}"
        )
        return frozenset()
    return frozenset(value)


def _scope(folder: Path, problems: list[str]) -> ScopeRules:
    text = _read(folder / "scope.toml", problems, folder)
    table: Any = {}
    if text is not None:
        try:
            table = tomllib.loads(text).get("scope", {})
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"scope.toml: not valid TOML ({exc})")
    if not isinstance(table, dict):
        problems.append("scope.toml: [scope] must be a table")
        table = {}
    categories = _int_set(table, "categories", range(1, 5), problems)
    levels = _int_set(table, "levels", range(1, 4), problems)
    include_unknown = table.get("include_unknown", True)
    if not isinstance(include_unknown, bool):
        problems.append("scope.toml [scope].include_unknown: must be true or false")
    return ScopeRules(categories=categories, levels=levels, include_unknown=bool(include_unknown))


def _schema(path: Path, problems: list[str], folder: Path) -> etree.XMLSchema | None:
    try:
        return etree.XMLSchema(parse_untrusted(path.read_bytes()))
    except FileNotFoundError:
        problems.append(f"{path.relative_to(folder)}: schema file is missing")
    except (UnsafeXML, etree.XMLSchemaParseError) as exc:
        problems.append(f"{path.relative_to(folder)}: schema does not compile ({exc})")
    return None


def load_mapping(folder: Path) -> MappingBundle:
    """Read and check a mapping folder.

    Raises:
        MappingSpecError: listing every problem found, each naming its file and key.
    """
    problems: list[str] = []
    if not folder.is_dir():
        raise MappingSpecError([f"{folder}: no such mapping folder"])
    head = _read(folder / "mapping.toml", problems, folder)
    spec, found = parse_spec(
        head or "", _texts(folder / "sections", problems), _texts(folder / "codes", problems)
    )
    problems.extend(found if head is not None else [])
    tables = spec.tables if spec is not None else {}
    for table in (CATEGORY_TABLE, LEVEL_TABLE) if spec is not None else ():
        if table not in tables:
            problems.append(f"codes/{table}.toml: file is missing (the scope rule reads it)")
    scope = _scope(folder, problems)
    schema = _schema(folder / (spec.schema if spec else "visor-record.xsd"), problems, folder)
    if problems or spec is None or schema is None:
        raise MappingSpecError(problems, folder=folder)
    return MappingBundle(folder, spec, Mapper(spec), schema, scope)
