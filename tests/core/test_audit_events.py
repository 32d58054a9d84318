"""The catalogue of audit actions and its typed constructors (bridge/core/audit_events.py)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.core import audit_events as ev
from bridge.core.audit_events import CATALOGUE, AuditEvent, Category

CRN, ENTRY, STAFF = "B203456", 42, "N07P004"
WHEN = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)

#: Each constructor called with every field it can carry.
FULL: dict[str, Callable[[], AuditEvent]] = {
    "entry.queued": lambda: ev.entry_queued(
        ev.SYNC, CRN, ENTRY, section="mappa", item=None, kind="nominal-update", mapping_version="3"
    ),
    "case.adopted": lambda: ev.case_adopted(ev.SYNC, CRN, sections=["nominal", "mappa"]),
    "case.read_failed": lambda: ev.case_read_failed(ev.SYNC, CRN, attempts=2, error="ReadTimeout"),
    "case.attention": lambda: ev.case_attention(ev.SYNC, CRN, reason="officer_undetermined"),
    "case.attention_cleared": lambda: ev.case_attention_cleared(
        ev.SYNC, CRN, reason="officer_undetermined"
    ),
    "staff.added": lambda: ev.staff_added(STAFF, staff="N07P009"),
    "staff.imported": lambda: ev.staff_imported(
        ev.CLI, added=1, updated=2, deactivated=0, released=0
    ),
    "entry.superseded": lambda: ev.entry_superseded(ev.SYNC, CRN, ENTRY, reason="newer", by=43),
    "entry.claimed": lambda: ev.entry_claimed(STAFF, CRN, ENTRY),
    "entry.released": lambda: ev.entry_released(STAFF, CRN, ENTRY, was="N07P009", reason="left"),
    "entry.claim_expired": lambda: ev.entry_claim_expired(ev.REVIEW, CRN, ENTRY, was=STAFF),
    "entry.claim_joined": lambda: ev.entry_claim_joined(ev.SYNC, CRN, ENTRY, holder=STAFF),
    "entry.reassigned": lambda: ev.entry_reassigned(STAFF, CRN, ENTRY, was=None, to="N07P009"),
    "entry.edited": lambda: ev.entry_edited(STAFF, CRN, ENTRY, version=2, fields=["Category"]),
    "entry.approved": lambda: ev.entry_approved(STAFF, CRN, ENTRY, version=2),
    "entry.rejected": lambda: ev.entry_rejected(STAFF, CRN, ENTRY),
    "entry.failed": lambda: ev.entry_failed(ev.SUBMIT, CRN, ENTRY, reason_sha256="sha256:00"),
    "entry.requeued": lambda: ev.entry_requeued(STAFF, CRN, ENTRY, version=2),
    "retry.scheduled": lambda: ev.retry_scheduled(STAFF, CRN, was=WHEN, attempts=3),
    "staff.updated": lambda: ev.staff_updated(STAFF, staff="N07P009", fields=["roles"]),
    "account.password_set": lambda: ev.account_password_set(ev.CLI, staff=STAFF),
    "privilege.requested": lambda: ev.privilege_requested(
        STAFF, staff="N07P009", request=1, grants=["proxy", "vetting"]
    ),
    "privilege.approved": lambda: ev.privilege_approved(
        "ADM0002", staff="N07P009", request=1, grants=["proxy"], requested_by=STAFF
    ),
    "privilege.declined": lambda: ev.privilege_declined(STAFF, staff="N07P009", request=1),
    "entry.viewed": lambda: ev.entry_viewed(STAFF, CRN, ENTRY, version=1, purpose="review"),
    "status.viewed": lambda: ev.status_viewed(STAFF, CRN),
    "cases.listed": lambda: ev.cases_listed(STAFF, crns=[CRN]),
    "tasks.searched": lambda: ev.tasks_searched(STAFF, terms="0" * 64, crns=[CRN]),
    "sign_in": lambda: ev.sign_in(STAFF, method="oidc"),
    "sign_in.failed": lambda: ev.sign_in_failed(
        ev.ANONYMOUS, staff=STAFF, method="oidc", reason="inactive"
    ),
    "sign_in.throttled": lambda: ev.sign_in_throttled(
        ev.ANONYMOUS, staff=STAFF, username_hash="0123456789abcdef"
    ),
    "sign_out": lambda: ev.sign_out(STAFF),
    "session.expired": lambda: ev.session_expired(STAFF),
    "access.refused": lambda: ev.access_refused(STAFF, action="view", entry_id=ENTRY),
    "entry.submitted": lambda: ev.entry_submitted(
        ev.SUBMIT,
        CRN,
        ENTRY,
        sink="file-drop",
        key="k",
        resend=False,
        version=1,
        file="f.xml",
        sha256="0" * 64,
    ),
    "entry.accepted": lambda: ev.entry_accepted(
        ev.SUBMIT, CRN, ENTRY, sink="visor-http", version=1, reference="VIS/1", replayed=True
    ),
    "entry.entered": lambda: ev.entry_entered(STAFF, CRN, ENTRY, reference="VIS/1"),
    "case.merged": lambda: ev.case_merged(ev.SYNC, CRN, into="X000001"),
    "case.erased": lambda: ev.case_erased(
        ev.SYNC, CRN, versions=2, entries=1, baselines=1, case_state=1, retry=0
    ),
    "audit.exported": lambda: ev.audit_exported(STAFF, CRN, events=3, purpose="subject-access"),
    "audit.archived": lambda: ev.audit_archived(
        ev.CLI, events=10, before="2020-01-01", after_event_id=10, sha256="0" * 64
    ),
    "content.purged": lambda: ev.content_purged(
        ev.RETENTION, CRN, entries=1, versions=2, baselines=1, tables=["outbox"]
    ),
    "metadata.purged": lambda: ev.metadata_purged(ev.RETENTION, CRN, entries=1),
    "erasure.incomplete": lambda: ev.erasure_incomplete(ev.SYNC, CRN, step="wal_checkpoint"),
    "registry.viewed": lambda: ev.registry_viewed(STAFF, staff=4, purpose="admin:staff"),
    "failures.viewed": lambda: ev.failures_viewed(STAFF, entries=[ENTRY], purpose="admin:failures"),
    "workload.viewed": lambda: ev.workload_viewed(
        STAFF, view="csv", teams=["N07CHT"], staff=2, weeks=4
    ),
}

#: Other shapes of an event, whose fields together with FULL's make the action's fields.
OTHER: dict[str, Callable[[], AuditEvent]] = {
    "sign_in.failed": lambda: ev.sign_in_failed(ev.ANONYMOUS, staff=None),
    "sign_in": lambda: ev.sign_in(STAFF),
}


def test_every_action_has_one_constructor_named_after_it() -> None:
    names = {name.replace(".", "_") for name in CATALOGUE}
    missing = sorted(n for n in names if not callable(getattr(ev, n, None)))
    assert missing == []
    assert names <= set(ev.__all__)
    assert set(FULL) == set(CATALOGUE), "FULL calls every constructor once"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_a_constructor_gives_its_action_category_and_every_field(name: str) -> None:
    spec = CATALOGUE[name]
    events = [FULL[name]()] + ([OTHER[name]()] if name in OTHER else [])
    for event in events:
        assert (event.action, event.category) == (name, spec.category)
        assert set(event.detail) <= set(spec.fields)
        assert (type(event.action), type(event.category)) == (str, str)  # stored as plain words
    assert sorted({f for e in events for f in e.detail}) == sorted(spec.fields)
    assert getattr(ev, name.replace(".", "_")).__name__ == name.replace(".", "_")


def test_the_categories_are_the_six_of_s62() -> None:
    assert {c.value for c in Category} == {
        "collection",
        "alteration",
        "consultation",
        "disclosure",
        "combination",
        "erasure",
    }
    by_category = {c: sorted(n for n, s in CATALOGUE.items() if s.category == c) for c in Category}
    assert "entry.queued" in by_category[Category.COLLECTION]
    assert "entry.edited" in by_category[Category.ALTERATION]
    assert "entry.viewed" in by_category[Category.CONSULTATION]
    assert by_category[Category.DISCLOSURE] == [
        "entry.accepted",
        "entry.entered",
        "entry.submitted",
    ]
    assert by_category[Category.COMBINATION] == ["case.merged"]
    assert by_category[Category.ERASURE] == [
        "audit.archived",
        "case.erased",
        "content.purged",
        "erasure.incomplete",
        "metadata.purged",
    ]


def test_optional_fields_are_left_out_when_not_given() -> None:
    assert ev.entry_viewed(STAFF, CRN, ENTRY, version=1).detail == {"version": 1}
    assert ev.entry_released(STAFF, CRN, ENTRY).detail == {}
    assert ev.sign_in_failed(ev.ANONYMOUS, staff=None).detail == {"unknown_username": True}
    # single sign-on refused before anyone was named: no unknown_username
    refused = ev.sign_in_failed(ev.ANONYMOUS, staff=None, method="oidc", reason="signature")
    assert refused.detail == {"method": "oidc", "reason": "signature"}
    assert ev.sign_in(STAFF).detail == {}
    pre = ev.entry_submitted(ev.SUBMIT, CRN, ENTRY, sink="visor-http", key="k", resend=False)
    assert pre.detail == {"sink": "visor-http", "key": "k", "resend": False}
    # a field whose None means something is kept
    assert ev.entry_superseded(ev.SYNC, CRN, ENTRY, reason="out of scope", by=None).detail == {
        "reason": "out of scope",
        "by": None,
    }


def test_ids_and_the_retry_time_are_plain_values() -> None:
    event = ev.retry_scheduled(STAFF, CRN, was=WHEN, attempts=3)
    assert (event.actor, event.crn, event.entry_id) == (STAFF, CRN, None)
    assert event.detail == {"was": "2026-12-03T09:30:00+00:00", "attempts": 3}
    refused = ev.access_refused(STAFF, action="status")
    assert (refused.crn, refused.entry_id, refused.detail) == (None, None, {"action": "status"})


def test_resolved_names_the_entry_and_adds_detail() -> None:
    pending = ev.entry_superseded(ev.SYNC, CRN, ENTRY, reason="newer", by=None)
    done = pending.resolved(ENTRY, by=43)
    assert (done.entry_id, done.detail) == (ENTRY, {"reason": "newer", "by": 43})
    assert pending.detail["by"] is None  # the pending event is unchanged
    queued = ev.entry_queued(
        ev.SYNC, CRN, None, section="mappa", item=None, kind="k", mapping_version="3"
    )
    assert queued.resolved(7).entry_id == 7


def test_the_system_actors_keep_their_stored_names() -> None:
    actors: dict[str, Any] = {
        "SYNC": "system:sync",
        "SUBMIT": "system:submit",
        "REVIEW": "system:review",
        "CLI": "system:cli",
        "DEMO": "system:demo",
        "RETENTION": "system:retention",
        "ANONYMOUS": "web:anonymous",
    }
    assert {name: getattr(ev, name) for name in actors} == actors


# -- one spelling: an AST scan of bridge/ ----------------------------------------------------

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"
#: Where an action's name may be spelled: the catalogue, and the frozen migrations.
NAMES_ALLOWED = ("core/audit_events.py", "core/audit_catalogue.py", "store/migrations/")
ACTORS = {ev.SYNC, ev.SUBMIT, ev.REVIEW, ev.CLI, ev.DEMO, ev.RETENTION, ev.ANONYMOUS}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            ids.add(id(first.value))
    return ids


def _called(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def audit_spellings(path: Path, root: Path = BRIDGE) -> list[str]:
    """Action names or system actors spelled as bare strings, and events built by hand."""
    where = str(path.relative_to(root))
    tree = ast.parse(path.read_text(encoding="utf-8"), where)
    docs = _docstrings(tree)
    found = []
    names_allowed = where.startswith(NAMES_ALLOWED)
    builds_allowed = where in ("audit.py", "core/audit_events.py", "core/audit_catalogue.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled = node.value in CATALOGUE or node.value in ACTORS
            if spelled and not names_allowed and id(node) not in docs:
                found.append(f"{where}:{node.lineno}: bare {node.value!r}")
        elif isinstance(node, ast.Call) and not builds_allowed:
            name = _called(node)
            if name in ("Audit", "AuditEvent"):
                found.append(f"{where}:{node.lineno}: {name}(...) built by hand")
    return sorted(found)


def test_action_names_and_system_actors_are_spelled_only_in_the_catalogue() -> None:
    sources = sorted(BRIDGE.rglob("*.py"))
    assert len(sources) > 50
    found = [line for path in sources for line in audit_spellings(path)]
    assert found == [], "use the constructors of bridge/core/audit_events.py:\n" + "\n".join(found)


def test_the_scan_sees_a_bare_name_and_a_hand_built_event(tmp_path: Path) -> None:
    bad = tmp_path / "services" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        '"""entry.viewed in a docstring is fine."""\n'
        'record(s, Audit("consultation", "entry.viewed", "system:sync"), at=now)\n',
        encoding="utf-8",
    )
    assert audit_spellings(bad, tmp_path) == [
        "services/bad.py:2: Audit(...) built by hand",
        "services/bad.py:2: bare 'entry.viewed'",
        "services/bad.py:2: bare 'system:sync'",
    ]
