"""Shared by the Notify tests: the simulator's settings, staff addresses, fixture values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import col, select

from bridge.core.notify_kinds import NotifyKind, demo_template_id
from bridge.sim.notify import DEMO_API_KEY
from bridge.store.db import session_scope
from bridge.store.models import Staff
from bridge.wiring import Wiring
from tests.builders import CASES, FIXTURES
from tests.loopback import local

LINK_BASE = "https://visor-bridge.example"


def notify_overrides(url: str, **more: Any) -> dict[str, Any]:
    """Settings for a wiring that sends through the simulator at `url`, every kind on."""
    values: dict[str, Any] = {
        "notify_api_key": SecretStr(DEMO_API_KEY),
        "notify_url": url,
        "notify_service_url": LINK_BASE,
        "notify_max_wait_seconds": 5,
        **{f"notify_template_{kind.value}": demo_template_id(kind) for kind in NotifyKind},
    }
    values.update(more)
    return values


def give_addresses(w: Wiring) -> None:
    """Every member of staff gets an address: `<code>@justice.example`."""
    with session_scope(w.engine) as s:
        for code in s.exec(select(Staff.code)).all():
            s.execute(
                update(Staff)
                .where(col(Staff.code) == code)
                .values(email=f"{code.lower()}@justice.example")
            )


def sent(url: str) -> list[dict[str, Any]]:
    """Every notification the simulator accepted, in order."""
    response = local.get(f"{url}/__admin/sent")
    response.raise_for_status()
    return list(response.json()["notifications"])


#: Keys of the fixtures whose values identify a person: names, dates of birth, postcodes,
#: PNC (and the other identifiers and address parts, for good measure).
_PERSONAL = {
    "firstName", "forename", "forenames", "middleNames", "surname", "previousSurname",
    "preferredName", "dateOfBirth", "postcode", "pncNumber", "croNumber", "niNumber",
    "nomsNumber", "streetName", "buildingName", "town", "district", "county", "emailAddress",
    "telephone", "telephoneNumber", "notes",
}  # fmt: skip


def _leaves(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, key)
    else:
        yield key, value


def fixture_personal_values() -> set[str]:
    """Every name, date of birth, postcode, PNC (…) in fixtures/, lower-cased."""
    found: set[str] = set()
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in CASES.glob("*.json")]
    staff = json.loads((FIXTURES / "staff.json").read_text(encoding="utf-8"))
    found.update(person["name"].lower() for person in staff["staff"])
    found.update(w.lower() for person in staff["staff"] for w in person["name"].split())
    for document in documents:
        for key, value in _leaves(document):
            if key in _PERSONAL and isinstance(value, str) and len(value.strip()) >= 3:
                found.add(value.strip().lower())
    return found
