"""The analysts' guide to the mapping format documents every transform a spec may use."""

from __future__ import annotations

from pathlib import Path

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
