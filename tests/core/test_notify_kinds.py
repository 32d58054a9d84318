"""Messages are content-free by construction: each kind takes exactly its keys, and each value
must look like a CRN, a staff code, a number or the service's own link (bridge.core.notify_kinds)."""

from __future__ import annotations

import pytest

from bridge.core.notify_kinds import (
    KINDS,
    PERSONALISATION,
    NotifyKind,
    check_personalisation,
    demo_template_id,
)

BASE = "https://bridge.example"


def test_good_values_pass_as_text() -> None:
    assert check_personalisation(
        NotifyKind.VETTING_EXPIRING, {"staff_code": "N07P005", "days": 12, "link": BASE + "/x"},
        link_base=BASE,
    ) == {"staff_code": "N07P005", "days": "12", "link": BASE + "/x"}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (NotifyKind.ENTRY_RETURNED, {"crn": "X123456"}),  # a key missing
        (NotifyKind.ENTRY_RETURNED, {"crn": "X123456", "link": BASE, "name": "Hale"}),  # extra
        (NotifyKind.ENTRY_RETURNED, {"crn": "Dominic Hale", "link": BASE}),
        (NotifyKind.ENTRY_RETURNED, {"crn": "X123456", "link": "https://elsewhere.example"}),
        (NotifyKind.ENTRY_RETURNED, {"crn": "X123456", "link": BASE + ".evil.example/"}),
        (NotifyKind.VETTING_EXPIRING, {"staff_code": "HALE", "days": 3, "link": BASE}),
        (
            NotifyKind.VETTING_EXPIRING,
            {"staff_code": "N07P005", "days": "1984-03-12", "link": BASE},
        ),
        (NotifyKind.ENTRY_OVERDUE, {"count": "N7 6RE", "link": BASE}),
        (NotifyKind.ENTRY_OVERDUE, {"count": "2010/0123456X", "link": BASE}),
    ],
)
def test_anything_else_is_refused(kind: NotifyKind, values: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        check_personalisation(kind, values, link_base=BASE)


def test_every_kind_has_a_template_text_using_exactly_its_keys() -> None:
    assert {k.kind for k in KINDS} == set(NotifyKind)
    for info in KINDS:
        used = {part.split("))")[0] for part in (info.subject + info.body).split("((")[1:]}
        assert used == set(PERSONALISATION[info.kind]), info.kind
        assert info.setting == f"BRIDGE_NOTIFY_TEMPLATE_{info.kind.name}"
    assert len({demo_template_id(k) for k in NotifyKind}) == len(NotifyKind)
