"""One vocabulary for people: every state, kind and section has its words, and no page or CLI
module keeps a map of its own (so the web, the CLI and the API agree)."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bridge.core import vocabulary as v
from bridge.core.lifecycle import Kind, Section, State

ROOT = Path(__file__).resolve().parents[2] / "bridge"
_ENUMS = {"State", "Kind", "Section"}
_WORDS = {m.value for enum in (State, Kind, Section) for m in enum}


def test_every_state_kind_and_section_has_words() -> None:
    assert set(v.STATE_LABELS) == set(State)
    assert set(v.STATE_EXPLAINED) == set(State)
    assert set(v.KIND_LABELS) == set(Kind)
    assert set(v.SECTION_LABELS) == set(Section)
    for labels in (v.STATE_LABELS, v.KIND_LABELS, v.SECTION_LABELS):
        assert len(set(labels.values())) == len(labels), "two things share one label"
        assert all(label and label == label.strip() for label in labels.values())
    for sentence in v.STATE_EXPLAINED.values():
        assert sentence.endswith(".")
        assert sentence[0].isupper()
    # The contract words never reach people: no label is a state, kind or section name.
    assert not {*v.STATE_LABELS.values(), *v.KIND_LABELS.values()} & _WORDS


def test_the_words_people_read() -> None:
    assert v.state_label("rejected") == "Returned to officer"
    assert v.state_label(State.ACCEPTED) == "Entered in ViSOR"
    assert v.kind_label("nominal-create") == "New person"
    assert v.section_label("managing-officer") == "Managing officer"
    assert v.section_label("new-thing") == "New thing"
    assert v.state_label("unknown") == "unknown"
    assert v.kind_label("unknown") == "unknown"
    assert v.explain_state("unknown") == ""


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 11, 23, 14, 5, tzinfo=UTC), "23 November 2026 at 2:05pm"),
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "23 November 2026 at 9am"),
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "23 November 2026 at 12pm"),
        (datetime(2026, 11, 23, 0, 30, tzinfo=UTC), "23 November 2026 at 12:30am"),
        # British Summer Time: the next day in London.
        (datetime(2026, 5, 31, 23, 30, tzinfo=UTC), "1 June 2026 at 12:30am"),
        (datetime(2026, 5, 31, 23, 30), "1 June 2026 at 12:30am"),  # noqa: DTZ001 - naive: stored UTC
        ("2026-07-01T08:15:00+00:00", "1 July 2026 at 9:15am"),
    ],
)
def test_dates_and_times_are_in_london(instant: datetime | str, expected: str) -> None:
    assert v.long_datetime(instant) == expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 11, 23, 9, 30, tzinfo=UTC), "23 November 2026 at 9:30am GMT"),
        (datetime(2026, 7, 1, 8, 15, tzinfo=UTC), "1 July 2026 at 9:15am BST"),
        # the clocks go back at 2am BST on 25 October 2026: 00:59 UTC is BST, 01:00 UTC is GMT
        (datetime(2026, 10, 25, 0, 59, tzinfo=UTC), "25 October 2026 at 1:59am BST"),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "25 October 2026 at 1am GMT"),
        # and forward at 1am GMT on 29 March 2026
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "29 March 2026 at 12:59am GMT"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29 March 2026 at 2am BST"),
    ],
)
def test_times_can_say_which_clocks(instant: datetime, expected: str) -> None:
    assert v.long_datetime(instant, zone=True) == expected
    assert v.zone_name(instant) == expected.rsplit(" ", 1)[1]


def test_the_london_date_of_an_instant() -> None:
    assert v.london_date(datetime(2026, 5, 31, 23, 30, tzinfo=UTC)) == date(2026, 6, 1)
    assert v.london_date(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == date(2026, 11, 30)


def test_plain_dates() -> None:
    assert v.long_date(date(2026, 11, 3)) == "3 November 2026"
    assert v.long_date("2026-11-03") == "3 November 2026"
    assert v.long_date(None) == ""
    assert v.long_datetime(None) == ""
    assert v.long_date(datetime(2026, 5, 31, 23, 30, tzinfo=UTC)) == "1 June 2026"


def _own_maps(tree: ast.AST) -> list[int]:
    """Lines of dict literals that map states, kinds or sections to words."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict) or len(node.keys) < 2:
            continue
        keys = [k for k in node.keys if k is not None]
        enum_keys = all(
            isinstance(k, ast.Attribute) and isinstance(k.value, ast.Name) and k.value.id in _ENUMS
            for k in keys
        )
        word_keys = all(isinstance(k, ast.Constant) and k.value in _WORDS for k in keys)
        words = all(
            isinstance(val, ast.Constant)
            and isinstance(val.value, str)
            and not val.value.startswith("govuk-")  # a tag's colour is not a word
            for val in node.values
        )
        if (enum_keys or word_keys) and words:
            found.append(node.lineno)
    return found


def test_no_page_or_cli_module_keeps_its_own_labels() -> None:
    offenders = {}
    for folder in ("web", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = _own_maps(ast.parse(path.read_text(encoding="utf-8")))
            if lines:
                offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}, "use bridge.core.vocabulary"


def test_the_scan_sees_a_map_of_its_own() -> None:
    source = 'X = {State.PENDING: "Waiting", State.CLAIMED: "Taken"}\nY = {"pending": "W", "claimed": "T"}'
    assert _own_maps(ast.parse(source)) == [1, 2]
    tags = 'T = {State.PENDING: "govuk-tag--grey", State.CLAIMED: "govuk-tag--blue"}'
    assert _own_maps(ast.parse(tags)) == []
