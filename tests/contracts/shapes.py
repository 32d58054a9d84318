"""Checks a JSON document against the compact community-api schema (community_api_schema.json).

The schema's notation is explained in its `about`. A document conforms when every property it
holds is one its definition (or the one list of deliberate extensions) names, with the right
type; `null` counts as absent, and no property is required (the bridge tolerates gaps).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("community_api_schema.json")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")

_SCALARS = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "date": lambda v: isinstance(v, str) and _DATE.fullmatch(v) is not None,
    "date-time": lambda v: isinstance(v, str) and _DATE_TIME.fullmatch(v) is not None,
}


class Shapes:
    """The schema, loaded once: definitions merged with the deliberate extensions."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        extensions = schema["extensions"]
        self.definitions: dict[str, dict[str, Any]] = {
            name: dict(props) for name, props in schema["definitions"].items()
        }
        for name, extra in extensions["properties"].items():
            clash = set(extra) & set(self.definitions[name])
            assert not clash, f"extension {name}.{clash} is already in the published definition"
            self.definitions[name].update(extra)
        for name, props in extensions["definitions"].items():
            assert name not in self.definitions, f"extension definition {name} shadows one"
            self.definitions[name] = dict(props)
        self.endpoints: dict[str, str] = dict(schema["endpoints"])
        self.documents: dict[str, str] = {
            key: text.split(" ", 1)[0] for key, text in extensions["documents"].items()
        }

    @classmethod
    def load(cls, path: Path = SCHEMA_PATH) -> Shapes:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def check(self, value: Any, spec: Any, where: str) -> list[str]:
        """Every way `value` departs from `spec`, each naming its path (empty: it conforms)."""
        problems: list[str] = []
        self._check(value, spec, where, problems)
        return problems

    def _check(self, value: Any, spec: Any, where: str, out: list[str]) -> None:
        if value is None:
            return
        if isinstance(spec, list):
            if not isinstance(value, list):
                out.append(f"{where}: expected an array")
                return
            for n, item in enumerate(value):
                self._check(item, spec[0], f"{where}[{n}]", out)
        elif isinstance(spec, dict):
            if value not in spec["enum"]:
                out.append(f"{where}: {value!r} is not one of {spec['enum']}")
        elif spec.startswith("#"):
            name = spec[1:]
            if not isinstance(value, dict):
                out.append(f"{where}: expected an object ({name})")
                return
            props = self.definitions[name]
            for key, item in value.items():
                if key not in props:
                    out.append(f"{where}.{key}: {name} has no such property")
                else:
                    self._check(item, props[key], f"{where}.{key}", out)
        elif not _SCALARS[spec](value):
            out.append(f"{where}: expected {spec}, got {type(value).__name__}")

    def check_document(self, document: Any, where: str) -> list[str]:
        """A whole case document (fixture file or generated): its parts against their shapes."""
        if not isinstance(document, dict):
            return [f"{where}: expected an object"]
        specs = {
            "offender": self.endpoints["/secure/offenders/crn/{crn}/all"],
            "registrations": ["#Registration"],
            **{key: _parse_spec(text) for key, text in self.documents.items()},
        }
        problems: list[str] = []
        for key, part in document.items():
            if key not in specs:
                problems.append(f"{where}.{key}: not a part of a case document")
            else:
                problems.extend(self.check(part, specs[key], f"{where}.{key}"))
        return problems


def _parse_spec(text: str) -> Any:
    """`[#Name]` or `#Name`, as written in the extensions' `documents`."""
    return [text[1:-1]] if text.startswith("[") else text
