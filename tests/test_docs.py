"""The docs name what the code has: every mapping transform, and every audit action."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.core.audit_events import CATALOGUE
from bridge.core.mapping.transforms import TRANSFORMS

ROOT = Path(__file__).resolve().parent.parent
MAPPING_DOC = ROOT / "docs" / "mapping.md"


def test_every_transform_is_documented_in_docs_mapping_md() -> None:
    assert MAPPING_DOC.is_file(), f"{MAPPING_DOC} is missing: it documents the mapping format"
    text = MAPPING_DOC.read_text(encoding="utf-8")
    undocumented = sorted(name for name in TRANSFORMS if f"`{name}`" not in text)
    assert undocumented == [], (
        f"transforms not named (in backticks) in docs/mapping.md: {undocumented}"
    )


DATA_PROTECTION = ROOT / "docs" / "data-protection.md"
_ROW = re.compile(r"^\| `(?P<action>[a-z_.]+)` \| (?P<category>[a-z]+) \| (?P<fields>[^|]*) \|")


def _documented_audit_actions() -> dict[str, tuple[str, tuple[str, ...]]]:
    """action → (category, detail fields), from the table under "## The audit log"."""
    text = DATA_PROTECTION.read_text(encoding="utf-8")
    section = text.split("## The audit log", 1)[1].split("\n## ", 1)[0]
    table: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in section.splitlines():
        if (row := _ROW.match(line)) is None:
            continue
        assert row["action"] not in table, f"{row['action']} is documented twice"
        fields = tuple(re.findall(r"`([a-z0-9_]+)`", row["fields"]))
        table[row["action"]] = (row["category"], fields)
    return table


def test_every_audit_action_is_documented_with_its_category_and_fields() -> None:
    documented = _documented_audit_actions()
    catalogue = {str(name): (str(spec.category), spec.fields) for name, spec in CATALOGUE.items()}
    missing = sorted(set(catalogue) - set(documented))
    unknown = sorted(set(documented) - set(catalogue))
    assert (missing, unknown) == ([], []), (
        f"docs/data-protection.md's audit table misses {missing} and names {unknown}, "
        "which bridge/core/audit_events.py does not record"
    )
    differ = {a: (documented[a], catalogue[a]) for a in catalogue if documented[a] != catalogue[a]}
    assert differ == {}, "(documented, catalogue) category and fields differ"
