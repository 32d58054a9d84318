"""Record building, canonical hashes, flatten and field-level diffs."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from bridge.core.record import (
    NS,
    Envelope,
    FieldChange,
    build_record,
    canonical_hash,
    field_diff,
    flatten,
    section_of,
    to_xml,
)


def _addresses(*postcodes: str, town: str = "Leeds") -> etree._Element:
    root = etree.Element(f"{{{NS}}}Addresses", nsmap={None: NS})
    for postcode in postcodes:
        address = etree.SubElement(root, f"{{{NS}}}Address")
        etree.SubElement(address, f"{{{NS}}}Status").text = "Main"
        etree.SubElement(address, f"{{{NS}}}Town").text = town
        etree.SubElement(address, f"{{{NS}}}Postcode").text = postcode
    return root


def test_flatten_numbers_repeated_elements_only() -> None:
    assert flatten(_addresses("LS1 4DY")) == {
        "Address/Status": "Main",
        "Address/Town": "Leeds",
        "Address/Postcode": "LS1 4DY",
    }
    assert flatten(_addresses("LS1 4DY", "M1 1AE")) == {
        "Address[1]/Status": "Main",
        "Address[1]/Town": "Leeds",
        "Address[1]/Postcode": "LS1 4DY",
        "Address[2]/Status": "Main",
        "Address[2]/Town": "Leeds",
        "Address[2]/Postcode": "M1 1AE",
    }


def test_field_diff_against_nothing_lists_every_field_as_added() -> None:
    changes = field_diff(None, _addresses("LS1 4DY"))
    assert changes == [
        FieldChange("Address/Postcode", None, "LS1 4DY"),
        FieldChange("Address/Status", None, "Main"),
        FieldChange("Address/Town", None, "Leeds"),
    ]


def test_field_diff_with_repeated_elements() -> None:
    before = _addresses("LS1 4DY", "M1 1AE")
    assert field_diff(before, _addresses("LS1 4DY", "M1 1AE")) == []
    assert field_diff(before, _addresses("LS1 4DY", "B1 1AA")) == [
        FieldChange("Address[2]/Postcode", "M1 1AE", "B1 1AA")
    ]
    # one address removed: the second one's fields go, and the first loses its number
    removed = field_diff(before, _addresses("LS1 4DY"))
    assert {c.path for c in removed if c.after is None} == {
        "Address[1]/Postcode",
        "Address[1]/Status",
        "Address[1]/Town",
        "Address[2]/Postcode",
        "Address[2]/Status",
        "Address[2]/Town",
    }
    assert FieldChange("Address/Postcode", None, "LS1 4DY") in removed
    assert removed[0].to_json() == {
        "path": removed[0].path,
        "before": removed[0].before,
        "after": removed[0].after,
    }


def test_canonical_hash_ignores_serialisation_and_sees_content() -> None:
    a = _addresses("LS1 4DY")
    reparsed = etree.fromstring(
        etree.tostring(a, pretty_print=True), etree.XMLParser(remove_blank_text=True)
    )
    assert canonical_hash(a) == canonical_hash(reparsed)
    assert canonical_hash(a) != canonical_hash(_addresses("LS1 4DZ"))


def test_build_record_copies_the_section_and_round_trips() -> None:
    section = _addresses("LS1 4DY", town="Bradford & Keighley <North>")
    envelope = Envelope(
        "nominal-update",
        "B203456",
        "0" * 64,
        "visor-v1.0",
        "N02A003",
        datetime(2026, 11, 23, tzinfo=UTC),
    )
    record = build_record(section, envelope, section_hash=canonical_hash(section))
    assert section.getparent() is None  # copied, not moved
    xml = to_xml(record)
    assert "Bradford &amp; Keighley &lt;North&gt;" in xml
    back = section_of(xml)
    assert canonical_hash(back) == canonical_hash(section)
    assert f"B203456.Addresses.{canonical_hash(section)[:16]}" in xml
