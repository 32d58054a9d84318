"""The staff registry's one validator, the staff CSV, and people made inactive by an import."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from bridge.core.staff_input import (
    CSV_COLUMNS,
    StaffCsvInvalid,
    StaffInput,
    check_staff,
    decode_staff_csv,
    parse_staff_csv,
    vetting_state,
)
from bridge.services.staff import import_staff
from bridge.services.views import ImportResult
from bridge.store.db import session_scope
from bridge.store.models import Entry, Staff
from tests.builders import PROXY_2, MakeWiring

HEADER = ",".join(CSV_COLUMNS)


def test_a_good_csv_gives_rows_as_import_staff_takes_them() -> None:
    rows = parse_staff_csv(
        "Code, Name ,ROLES,team,vetting_level,vetting_expires,needs_proxy_since,needs_proxy_until,active\n"
        "n07p050,Mo  Farah,proxy;offender_manager,n07cht,nppv2,2027-05-31,,,\n"
        "\n"
        'N07A051,"Okafor, Fatima",offender_manager,,,,2025-06-02,2026-01-31,no\n'
    )
    assert rows == [
        {
            "code": "N07P050",
            "name": "Mo Farah",
            "roles": ["offender_manager", "proxy"],
            "team": "N07CHT",
            "vetting_level": "NPPV2",
            "vetting_expires": date(2027, 5, 31),
            "needs_proxy_since": None,
            "needs_proxy_until": None,
            "active": True,
        },
        {
            "code": "N07A051",
            "name": "Okafor, Fatima",
            "roles": ["offender_manager"],
            "team": None,
            "vetting_level": None,
            "vetting_expires": None,
            "needs_proxy_since": date(2025, 6, 2),
            "needs_proxy_until": date(2026, 1, 31),
            "active": False,
        },
    ]


def test_every_problem_is_reported_with_its_line() -> None:
    with pytest.raises(StaffCsvInvalid) as caught:
        parse_staff_csv(
            f"{HEADER}\n"
            ",Nameless,proxy,,NPPV2,2027-01-01,,,\n"  # 2: no code
            "N07P060,Pat,proxy,,,,,,\n"  # 3: a proxy without vetting
            "N07P061,Sam,proxy;wizard,,NPPV9,31/12/2027,,,\n"  # 4: role, level, date
            "N07A062,Ali,admin,,,,2026-02-01,2026-01-01,\n"  # 5: until before since; not an OM
            "N07A063,Jo,offender_manager,,,,,2026-01-01,\n"  # 6: until without since
        )
    assert caught.value.problems == [
        "Line 2 (code): Enter a staff code",
        "Line 3 (vetting_level): Select the vetting level: a proxy must be vetted",
        "Line 4 (roles): Roles must be from: proxy, offender_manager, manager, admin",
        "Line 4 (vetting_level): Vetting level must be one of NPPV1, NPPV2, NPPV3",
        "Line 4 (vetting_expires): Vetting expiry date must be a real date in the form YYYY-MM-DD",
        "Line 5 (needs_proxy_until): Needs a proxy until must be the same as or after the since date",
        "Line 5 (needs_proxy_since): Only an offender manager can need a proxy",
        "Line 6 (needs_proxy_since): Enter the date they first needed a proxy",
    ]
    assert "Line 4 (roles)" in str(caught.value)  # the CLI's one message lists them too


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "The file is empty: the first line must be the header"),
        ("code,name\n", "Line 1: missing columns: roles, team, vetting_level"),
        (HEADER + ",extra\n", "Line 1: unknown columns: extra"),
        (HEADER + ",code\n", "Line 1: columns named twice: code"),
        (HEADER + "\n", "The file has a header but no staff"),
        (HEADER + "\nN07A070,Jo\n", "Line 2: 2 values, expected 9"),
        (HEADER + '\nN07A070,"Jo,offender_manager,,,,,,\n', "values, expected 9"),
    ],
)
def test_files_that_are_not_a_staff_csv(text: str, problem: str) -> None:
    with pytest.raises(StaffCsvInvalid) as caught:
        parse_staff_csv(text)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_the_file_must_be_utf8() -> None:
    assert decode_staff_csv("\ufeffcode".encode()) == "code"  # Excel's byte-order mark
    with pytest.raises(StaffCsvInvalid, match="UTF-8"):
        decode_staff_csv("Siobhán".encode("latin-1"))


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        (("", "", ""), None),
        (("31", "5", "2027"), None),
        (("31", "", "2027"), "Vetting expiry date must include a month"),
        (("", "", "2027"), "Vetting expiry date must include a day and month"),
        (("30", "2", "2027"), "Vetting expiry date must be a real date"),
        (("1", "1", "27"), "Vetting expiry date must be a real date"),
        (("a", "1", "2027"), "Vetting expiry date must be a real date"),
    ],
)
def test_form_dates_come_as_day_month_year(
    parts: tuple[str, str, str], problem: str | None
) -> None:
    row, problems = check_staff(
        StaffInput(
            code="ADM0009",
            name="Kim",
            roles=("admin",),
            vetting_expires=parts,
            vetting_level="NPPV2" if any(parts) else "",
        )
    )
    date_problems = [m for f, m in problems if f == "vetting_expires"]
    assert date_problems == ([problem] if problem else [])
    if parts == ("31", "5", "2027"):
        assert row["vetting_expires"] == date(2027, 5, 31)


def test_vetting_states() -> None:
    today = date(2026, 11, 23)

    def state(expires: date | None) -> str | None:
        return vetting_state(
            Staff(code="X", name="X", vetting_expires=expires, updated_at=today), today
        )

    assert state(None) is None
    assert state(date(2026, 11, 22)) == "expired"
    assert state(today) == "expiring_soon"
    assert state(date(2026, 12, 23)) == "expiring_soon"  # 30 days
    assert state(date(2026, 12, 24)) == "current"


def test_an_inactive_row_releases_the_persons_claims(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = make_wiring(db_url, ndelius_url)
    with w.ndelius() as source:
        w.sync_service(source).run(full=True)
    claimed = w.review.claim_next(actor=PROXY_2)
    assert claimed is not None
    [row] = parse_staff_csv(
        f"{HEADER}\n{PROXY_2},Tomasz Nowak,proxy,N07HCT,NPPV2,2028-02-29,,,no\n"
    )
    with session_scope(w.engine) as s:
        result = import_staff(s, [row], now=w.clock.now(), actor="ADM0001")
    assert result == ImportResult(added=0, updated=1, deactivated=1, released=1)
    with Session(w.engine) as s:
        person = s.get(Staff, PROXY_2)
        entry = s.get(Entry, claimed.id)
        assert person is not None
        assert entry is not None
        assert person.active is False
        assert (entry.status, entry.claimed_by) == ("pending", None)
