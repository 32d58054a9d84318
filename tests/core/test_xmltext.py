"""`clean_text` and the hardened parser."""

from __future__ import annotations

import pytest

from bridge.core.xmltext import UnsafeXML, clean_text, parse_untrusted


@pytest.mark.parametrize(
    ("raw", "cleaned", "removed"),
    [
        ("O'Neil", "O'Neil", 0),
        ("Siobhán Zoë", "Siobhán Zoë", 0),
        ("tab\tnew\nline\rreturn", "tab\tnew\nline\rreturn", 0),  # the three allowed controls
        ("a\x00b", "ab", 1),
        ("\x01\x08\x0b\x0c\x1f", "", 5),
        ("lone\ud800surrogate\udfff", "lonesurrogate", 2),
        ("not\ufffe\uffffchars", "notchars", 2),
        ("emoji \U0001f600 and \ue000 private use", "emoji \U0001f600 and \ue000 private use", 0),
        ("<&>\"'", "<&>\"'", 0),  # markup is escaped on output, not removed
        ("", "", 0),
    ],
)
def test_clean_text(raw: str, cleaned: str, removed: int) -> None:
    assert clean_text(raw) == (cleaned, removed)


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
        '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>',
        "<!DOCTYPE x><x/>",
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        "<x>&undefined;</x>",
        "<x><y></x>",
        "not xml",
        "",
        "<x>\ud800</x>",
    ],
)
def test_parse_untrusted_refuses_dtds_entities_and_malformed_documents(
    document: str | bytes,
) -> None:
    with pytest.raises(UnsafeXML):
        parse_untrusted(document)


def test_parse_untrusted_reads_plain_documents() -> None:
    root = parse_untrusted('<x a="1">caf\u00e9 &amp; &lt;b&gt;</x>')
    assert root.text == "café & <b>"
    assert parse_untrusted(b"<x/>").tag == "x"


def test_parse_own_keeps_whitespace_and_expands_no_entities() -> None:
    from lxml import etree

    from bridge.core.xmltext import parse_own

    element = parse_own(b"<a>\n  <b> x </b>\n</a>")
    assert etree.tostring(element) == b"<a>\n  <b> x </b>\n</a>"
    bomb = b'<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>'
    assert "boom" not in etree.tostring(parse_own(bomb)).decode()
