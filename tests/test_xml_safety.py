"""Every XML parse in the project uses a hardened parser; markup in source text is never parsed.

The first test reads the source: a new `etree.fromstring(...)` without a parser would otherwise
fall back to lxml's default parser (which loads DTDs) without anyone noticing.
"""

from __future__ import annotations

import re
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

from bridge.config import default_mappings_dir
from bridge.core.record import NS, Envelope, build_record, canonical_hash, to_xml
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import UnsafeXML, parse_untrusted
from bridge.mapping_files import load_mapping
from tests.builders import ROOT, case_doc

PARSE_CALL = re.compile(
    r"etree\.(fromstring|parse|XML|iterparse|XMLID)\((?P<args>.*)$", re.MULTILINE
)
#: Where a parse is allowed, and the parser it must pass.
ALLOWED = {
    "bridge/core/xmltext.py": ("_parser()", "_parser(keep_whitespace=True)"),
    "bridge/sim/visor.py": ("hardened_parser()",),
}


def test_every_xml_parse_in_the_package_passes_the_hardened_parser() -> None:
    found = []
    for path in sorted((ROOT / "bridge").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for match in PARSE_CALL.finditer(path.read_text(encoding="utf-8")):
            found.append(rel)
            assert rel in ALLOWED, f"{rel}: XML parsed outside the hardened parsers: {match[0]}"
            assert any(p in match["args"] for p in ALLOWED[rel]), (
                f"{rel}: {match[0]} has no hardened parser"
            )
    assert set(found) == set(ALLOWED)  # the scan itself works


class _Listener:
    """A loopback TCP server that only records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_a_contact_note_with_entity_declarations_comes_out_escaped_and_nothing_is_fetched(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER", encoding="utf-8")
    listener = _Listener()
    try:
        note = (
            f'<!DOCTYPE n [<!ENTITY file SYSTEM "file://{secret}">'
            f'<!ENTITY net SYSTEM "http://127.0.0.1:{listener.port}/x">]>'
            "<n>&file;&net;&xxe;</n>"
        )
        doc = case_doc("B203456")
        contact = next(c for c in doc["contacts"] if c.get("visorContact"))
        contact["notes"] = note
        bundle = load_mapping(default_mappings_dir())
        snapshot = CaseSnapshot.from_document("B203456", doc)
        activity = next(
            s
            for s in bundle.mapper.map_case(snapshot).sections
            if s.name == "activity" and s.key == str(contact["id"])
        )
        assert not [i for i in activity.issues if i.blocking]
        envelope = Envelope(
            "activity", "B203456", "0" * 64, bundle.version, "N02A003", datetime.now(UTC)
        )
        record = build_record(
            activity.element, envelope, section_hash=canonical_hash(activity.element)
        )
        assert bundle.schema.validate(record)
        xml = to_xml(record)
        assert "&lt;!DOCTYPE n [&lt;!ENTITY file SYSTEM" in xml
        assert "&amp;file;&amp;net;&amp;xxe;" in xml
        assert "<!DOCTYPE" not in xml
        assert "<![CDATA[" not in xml
        # read back (as the review screens do), the note is the literal text again
        back = parse_untrusted(xml)
        assert back.findtext(f".//{{{NS}}}Notes") == note
        assert "TOP-SECRET-MARKER" not in xml
        # and a document that itself carries those declarations is refused, not resolved
        try:
            parse_untrusted(note)
        except UnsafeXML:
            pass
        else:
            raise AssertionError("a DOCTYPE was accepted")
    finally:
        listener.close()
    assert listener.connections == 0
