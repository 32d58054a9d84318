"""Bidirectional controls are refused in edits; the joiners ZWJ and ZWNJ stay allowed (issue 18).
Before: an edit could store a value that reads differently from what it holds."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bridge.services.editing import EditRefused
from bridge.store.models import Entry
from bridge.wiring import Wiring
from tests.builders import PROXY, MakeWiring

CRN = "B219904"
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c"]  # fmt: skip


@pytest.fixture
def claimed(db_url: str, ndelius_url: str, make_wiring: MakeWiring) -> tuple[Wiring, int]:
    w = make_wiring(db_url, ndelius_url, synced={CRN})
    with Session(w.engine) as s:
        entry = s.exec(select(Entry).where(Entry.crn == CRN, Entry.section == "identity")).one()
    assert entry.id is not None
    w.review.claim(entry.id, actor=PROXY)
    return w, entry.id


def test_bidi_controls_are_refused_and_joiners_kept(claimed: tuple[Wiring, int]) -> None:
    w, entry_id = claimed
    for control in BIDI:
        with pytest.raises(EditRefused, match="bidirectional"):
            w.editing.edit(
                entry_id, actor=PROXY, version=1, changes={"Forename": f"Ada{control}mus"}
            )
    # ZWNJ and ZWJ (Persian, Indic and emoji names need them) are kept as typed
    row = w.editing.edit(
        entry_id,
        actor=PROXY,
        version=1,
        changes={"Forename": "Me\u200chdi", "MiddleName": "A\u200dB"},
    )
    assert row.version == 2
    with Session(w.engine) as s:
        entry = s.get(Entry, entry_id)
        assert entry is not None
        assert entry.xml is not None
        assert "Me\u200chdi" in entry.xml
        assert "A\u200dB" in entry.xml
