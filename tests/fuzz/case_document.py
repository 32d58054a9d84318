"""One input of the case-document fuzz: bytes as nDelius might send them → a mapped record.

The path a real read takes (`bridge.services.sync.prepare.prepare_case`: snapshot, access
lists, scope, mapping), with the fixture registry's officers who need a proxy (the seeds name
them, so the mapping runs for most inputs). The properties, whatever the bytes:
- nothing raises (a body that is not a JSON object is the reader's `unreadable`, a quarantine
  with a reason: the attention list);
- every section either carries a blocking issue (code, path and message: what a proxy fixes)
  or builds a record that ViSOR's schema accepts;
- access lists that cannot be read hide the case (`access_unclear` on the attention list).

Used by the atheris harness (`fuzz_case_document.py`, `make fuzz`) and by the test suite,
which replays the kept corpus (tests/fuzz/corpus).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from bridge.config import default_mappings_dir
from bridge.core.attention import AttentionReason, case_reason
from bridge.core.issues import has_blocking
from bridge.core.record import Envelope, build_record, canonical_hash
from bridge.core.scope import HIDDEN
from bridge.core.snapshot import CaseSnapshot
from bridge.mapping_files import MappingBundle, load_mapping
from bridge.services.sync.prepare import prepare_case

__all__ = ["check_document"]

PREPARED_AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
#: Offender managers who need a proxy in fixtures/staff.json (registry codes, as a sync has them).
NEEDS_PROXY = frozenset({"N07A001", "N07A002", "N02A003", "N02A011"})


@cache
def _bundle() -> MappingBundle:
    return load_mapping(default_mappings_dir())


def check_document(data: bytes) -> None:
    """Raise AssertionError when a property above does not hold (anything else is a crash)."""
    try:
        document: Any = json.loads(data.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return  # the reader's SourceDataError: `unreadable` on the attention list
    if not isinstance(document, dict):
        return  # the same
    snapshot = CaseSnapshot.from_document("A000001", document)
    prepared = prepare_case(snapshot, needs_proxy=NEEDS_PROXY, bundle=_bundle())
    if prepared.access_unclear:
        assert prepared.restricted_to == (HIDDEN,)
        assert case_reason(prepared) is AttentionReason.ACCESS_UNCLEAR
    for section in prepared.sections:
        if has_blocking(list(section.issues)):
            assert all(i.code and i.path and i.message for i in section.issues)
            continue
        envelope = Envelope(
            kind="nominal-create",
            crn=snapshot.crn,
            source_version=prepared.fingerprint,
            mapping_version="visor-v1.0",
            on_behalf_of=prepared.acting_for,
            prepared_at=PREPARED_AT,
        )
        record = build_record(
            section.element, envelope, section_hash=canonical_hash(section.element)
        )
        schema = _bundle().schema
        assert schema.validate(record), (section.name, str(schema.error_log))
