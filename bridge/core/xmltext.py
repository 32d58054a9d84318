"""Text that XML 1.0 can hold, and the one hardened parser every XML parse in the project uses."""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["UnsafeXML", "clean_text", "parse_own", "parse_untrusted"]

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Everything else (C0 controls, lone surrogates, U+FFFE/U+FFFF) cannot appear in a document.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class UnsafeXML(ValueError):
    """Raised when a document is not well-formed or carries a DTD."""


def clean_text(value: str) -> tuple[str, int]:
    """Remove characters XML 1.0 cannot hold.

    Args:
        value: any text from the source system.

    Returns:
        The cleaned text and how many characters were removed.
    """
    cleaned, removed = _NOT_XML_CHAR.subn("", value)
    return cleaned, removed


def _parser(*, keep_whitespace: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=not keep_whitespace,
        dtd_validation=False,
    )


def parse_own(data: bytes) -> etree._Element:
    """Our own serialisation of an element back as that element, whitespace exactly as written.

    Hardened like `parse_untrusted` (no DTD, entities or network); for bytes this process or
    its reading process wrote, such as a mapped section crossing the pipe.
    """
    return etree.fromstring(data, _parser(keep_whitespace=True))


def parse_untrusted(data: bytes | str) -> etree._Element:
    """Parse XML with no DTD, no entity expansion and no network access.

    Raises:
        UnsafeXML: the document is not well-formed or declares a DOCTYPE.
    """
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError as exc:
        raise UnsafeXML("text that cannot be encoded as UTF-8") from exc
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXML(f"not well-formed XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise UnsafeXML("a DOCTYPE is not allowed")
    return root
