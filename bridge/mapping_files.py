"""Loads a mapping folder (mapping.toml, scope.toml, the XSD) and reports every problem at once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.core.scope import ScopeRules
from bridge.core.xmltext import UnsafeXML, parse_untrusted
from bridge.errors import MappingSpecError

__all__ = ["MappingBundle", "load_mapping"]


@dataclass(frozen=True)
class MappingBundle:
    """Everything the core needs from a mapping folder, already parsed."""

    folder: Path
    version: str
    schema: etree.XMLSchema
    scope: ScopeRules


def _toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(f"{path}: file is missing")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML ({exc})")
    return {}


def _int_set(
    table: dict[str, Any], key: str, allowed: range, where: str, problems: list[str]
) -> frozenset[int]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(v, int) and v in allowed for v in value):
        problems.append(
            f"{where}: [scope].{key} must be a list of whole numbers {allowed.start}-{allowed.stop - 1}"
        )
        return frozenset()
    return frozenset(value)


def load_mapping(folder: Path) -> MappingBundle:
    """Read and check a mapping folder.

    Raises:
        MappingSpecError: listing every problem found, each naming its file and key.
    """
    problems: list[str] = []
    header = _toml(folder / "mapping.toml", problems).get("mapping", {})
    version = header.get("version") if isinstance(header, dict) else None
    if not isinstance(version, str) or not version.startswith("visor-v"):
        problems.append(
            f"{folder / 'mapping.toml'}: [mapping].version must be a string like 'visor-v1.0'"
        )
    schema_name = (
        header.get("schema", "visor-record.xsd") if isinstance(header, dict) else "visor-record.xsd"
    )
    schema: etree.XMLSchema | None = None
    xsd_path = folder / str(schema_name)
    try:
        schema = etree.XMLSchema(parse_untrusted(xsd_path.read_bytes()))
    except FileNotFoundError:
        problems.append(f"{xsd_path}: schema file is missing")
    except (UnsafeXML, etree.XMLSchemaParseError) as exc:
        problems.append(f"{xsd_path}: schema does not compile ({exc})")
    scope_path = folder / "scope.toml"
    scope_table = _toml(scope_path, problems).get("scope", {})
    if not isinstance(scope_table, dict):
        problems.append(f"{scope_path}: [scope] must be a table")
        scope_table = {}
    categories = _int_set(scope_table, "categories", range(1, 5), str(scope_path), problems)
    levels = _int_set(scope_table, "levels", range(1, 4), str(scope_path), problems)
    include_unknown = scope_table.get("include_unknown", True)
    if not isinstance(include_unknown, bool):
        problems.append(f"{scope_path}: [scope].include_unknown must be true or false")
    if problems or schema is None:
        raise MappingSpecError(problems)
    return MappingBundle(
        folder=folder,
        version=str(version),
        schema=schema,
        scope=ScopeRules(
            categories=categories, levels=levels, include_unknown=bool(include_unknown)
        ),
    )
