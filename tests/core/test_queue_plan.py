"""The queue planner: each rule on its own, then the properties over generated cases.

The planner is pure, so these tests build its inputs in memory (a prepared case, the case's
entries and baselines) and apply its plans in memory (`_apply`), as the page writer would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from bridge.core.lifecycle import BASELINE, TERMINAL, UNAPPROVED, Kind, Section, State
from bridge.core.prepared import PreparedCase, PreparedSection
from bridge.core.queue_plan import Create, QueuePlan, Reason, Supersede, plan_case, plan_merge
from bridge.core.scope import ScopeDecision
from bridge.core.snapshot import CaseSnapshot, Registration

CRN = "B203456"
ACTIVITY_XML = "<Activity><Type>Home visit</Type><Date>2026-11-02</Date></Activity>"
MAPPA_XML = (
    "<Mappa><Category>2</Category><Level>1</Level><LeadAgency>Probation</LeadAgency></Mappa>"
)


@dataclass(frozen=True)
class E:
    """An entry as the planner reads it."""

    id: int
    section: str
    item_key: str
    kind: str
    status: str
    content_hash: str


@dataclass(frozen=True)
class B:
    """A baseline as the planner reads it."""

    section: str
    item_key: str
    content_hash: str
    section_xml: str | None = "<Section/>"


def sec(name: str, key: str = "", h: str = "h1", *, empty: bool = False) -> PreparedSection:
    return PreparedSection(name, key, etree.Element("Section"), h, (), empty)


def _mappa(active: bool, ended: str | None = None) -> CaseSnapshot:
    raw: dict[str, Any] = {"type": {"code": "MAPP"}, "active": active, "startDate": "2024-01-01"}
    if ended:
        raw["endDate"] = ended
    return CaseSnapshot(CRN, registrations=(Registration(raw),))


def case(
    *sections: PreparedSection,
    in_scope: bool = True,
    reason: str = "",
    visor: bool = False,
    mappa_active: bool = True,
) -> PreparedCase:
    return PreparedCase(
        crn=CRN,
        scope=ScopeDecision(in_scope, reason, "OM1" if in_scope else None),
        sections=sections,
        has_visor_record=visor,
        fingerprint="f",
        manager_code="OM1",
        excluded_from=(),
        restricted_to=(),
        mappa=_mappa(mappa_active, None if mappa_active else "2026-11-20"),
    )


def plan(
    prepared: PreparedCase,
    entries: list[E] | None = None,
    baselines: list[B] | None = None,
    *,
    adopt: bool = True,
) -> QueuePlan:
    return plan_case(prepared, entries or [], baselines or [], adopt_existing=adopt)


def _only(steps: tuple[Any, ...]) -> Any:
    assert len(steps) == 1, steps
    return steps[0]


# -- new content -----------------------------------------------------------------------------


def test_a_new_section_is_queued_as_a_nominal_create() -> None:
    p = plan(case(sec(Section.IDENTITY)))
    new = _only(p.steps)
    assert isinstance(new, Create)
    assert (new.kind, new.reason, new.baseline) == (Kind.NOMINAL_CREATE, Reason.CHANGED, None)
    assert p.creates == (new,)
    assert p.withdrawals == ()
    assert p.counts().created == 1


def test_a_case_on_visor_or_with_baselines_is_updated_not_created() -> None:
    p = plan(case(sec(Section.IDENTITY), visor=True), adopt=False)
    assert _only(p.steps).kind == Kind.NOMINAL_UPDATE
    base = B(Section.ALIASES, "", "old")
    p = plan(case(sec(Section.IDENTITY)), baselines=[base])
    assert _only(p.steps).kind == Kind.NOMINAL_UPDATE


def test_a_contact_is_an_activity_entry_named_by_its_key() -> None:
    p = plan(case(sec(Section.ACTIVITY, "C1")))
    new = _only(p.steps)
    assert (new.kind, new.section.key) == (Kind.ACTIVITY, "C1")


def test_a_change_of_what_is_on_visor_names_the_baseline() -> None:
    base = B(Section.IDENTITY, "", "h0")
    new = _only(plan(case(sec(Section.IDENTITY, h="h1")), baselines=[base]).steps)
    assert new.baseline is base


def test_nothing_to_enter_when_the_section_is_what_visor_holds() -> None:
    assert plan(
        case(sec(Section.IDENTITY, h="h0")), baselines=[B(Section.IDENTITY, "", "h0")]
    ).is_empty


def test_an_empty_section_with_nothing_on_visor_is_nothing_to_enter() -> None:
    assert plan(case(sec(Section.ALIASES, empty=True))).is_empty


# -- one unapproved entry per section --------------------------------------------------------


def test_a_newer_change_supersedes_the_unapproved_entry() -> None:
    old = E(7, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.CLAIMED, "h1")
    p = plan(case(sec(Section.IDENTITY, h="h2")), [old])
    new, sup = p.steps
    assert isinstance(new, Create)
    assert isinstance(sup, Supersede)
    assert (sup.entry_id, sup.reason, sup.by) == (7, Reason.NEWER_CHANGE, new)
    assert sup.text == "newer change"
    assert (p.counts().created, p.counts().superseded) == (1, 1)


def test_the_same_content_as_the_unapproved_entry_is_nothing() -> None:
    old = E(7, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.PENDING, "h1")
    assert plan(case(sec(Section.IDENTITY, h="h1")), [old]).is_empty


def test_an_approved_entry_is_never_superseded() -> None:
    done = E(7, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.APPROVED, "h1")
    p = plan(case(sec(Section.IDENTITY, h="h2")), [done], [B(Section.IDENTITY, "", "h1")])
    assert p.supersessions == ()
    assert len(p.creates) == 1


def test_a_revert_to_the_baseline_supersedes_and_creates_nothing() -> None:
    old = E(7, Section.ADDRESSES, "", Kind.NOMINAL_UPDATE, State.PENDING, "h2")
    p = plan(case(sec(Section.ADDRESSES, h="h1")), [old], [B(Section.ADDRESSES, "", "h1")])
    sup = _only(p.steps)
    assert (sup.entry_id, sup.reason, sup.by) == (7, Reason.REVERTED, None)
    assert sup.text == "reverted: nDelius is back to what ViSOR holds"


def test_what_a_proxy_rejected_is_not_queued_again_until_it_changes() -> None:
    rejected = E(7, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.REJECTED, "h1")
    assert plan(case(sec(Section.IDENTITY, h="h1")), [rejected]).is_empty
    assert len(plan(case(sec(Section.IDENTITY, h="h2")), [rejected]).creates) == 1
    # Only the newest entry of the section counts.
    again = E(8, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.SUPERSEDED, "h1")
    assert len(plan(case(sec(Section.IDENTITY, h="h1")), [rejected, again]).creates) == 1


# -- go-live ---------------------------------------------------------------------------------


def test_a_case_already_on_visor_is_adopted_at_go_live() -> None:
    sections = (sec(Section.IDENTITY), sec(Section.ACTIVITY, "C1"))
    p = plan(case(*sections, visor=True))
    assert p.adopt == sections
    assert p.steps == ()
    assert not p.is_empty


def test_no_adoption_when_asked_not_to_or_once_there_is_history() -> None:
    assert plan(case(sec(Section.IDENTITY), visor=True), adopt=False).adopt is None
    rejected = E(7, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.REJECTED, "h0")
    assert plan(case(sec(Section.IDENTITY), visor=True), [rejected]).adopt is None


# -- contacts --------------------------------------------------------------------------------


def test_a_contact_never_entered_just_loses_its_unapproved_entry() -> None:
    old = E(7, Section.ACTIVITY, "C1", Kind.ACTIVITY, State.PENDING, "h1")
    sup = _only(
        plan(case(sec(Section.IDENTITY, h="h0")), [old], [B(Section.IDENTITY, "", "h0")]).steps
    )
    assert (sup.entry_id, sup.reason) == (7, Reason.CONTACT_GONE)
    assert sup.text == "contact deleted or no longer flagged for ViSOR in nDelius"


def test_a_contact_on_visor_gone_from_ndelius_is_withdrawn_once() -> None:
    base = B(Section.ACTIVITY, "C1", "h1", ACTIVITY_XML)
    prepared = case(sec(Section.IDENTITY, h="h0"))
    baselines = [B(Section.IDENTITY, "", "h0"), base]
    p = plan(prepared, [], baselines)
    w = _only(p.withdrawals)
    assert (w.kind, w.reason, w.baseline, w.section.key) == (
        Kind.ACTIVITY_WITHDRAWN,
        Reason.CONTACT_REMOVED,
        base,
        "C1",
    )
    assert w.section.content_hash == "h1"
    assert w.section.element.findtext("Type") == "Home visit"
    asked = E(9, Section.ACTIVITY, "C1", Kind.ACTIVITY_WITHDRAWN, State.PENDING, "h1")
    assert plan(prepared, [asked], baselines).is_empty


def test_a_contact_with_pending_work_and_on_visor_is_superseded_then_withdrawn() -> None:
    old = E(7, Section.ACTIVITY, "C1", Kind.ACTIVITY, State.CLAIMED, "h2")
    p = plan(case(), [old], [B(Section.ACTIVITY, "C1", "h1", ACTIVITY_XML)])
    sup, withdraw = p.steps
    assert isinstance(sup, Supersede)
    assert sup.reason is Reason.CONTACT_GONE
    assert isinstance(withdraw, Create)
    assert withdraw.kind is Kind.ACTIVITY_WITHDRAWN


def test_a_withdrawal_names_every_field_as_going_and_a_change_only_what_changed() -> None:
    base = B(Section.ACTIVITY, "C1", "h1", ACTIVITY_XML)
    [withdraw] = plan(case(), [], [base]).withdrawals
    assert {(d["before"], d["after"]) for d in withdraw.diff()} == {
        ("Home visit", None),
        ("2026-11-02", None),
    }
    changed = PreparedSection(
        Section.ACTIVITY,
        "C1",
        etree.fromstring(ACTIVITY_XML.replace("2026-11-02", "2026-11-03")),
        "h2",
        (),
        False,
    )
    [change] = plan(case(changed), [], [base]).creates
    assert [(d["before"], d["after"]) for d in change.diff()] == [("2026-11-02", "2026-11-03")]


def test_entries_are_made_for_the_named_officer_or_else_the_manager() -> None:
    assert case().acting_for == "OM1"
    assert replace(case(), manager_code=None, scope=ScopeDecision(False, "out")).acting_for == ""


# -- leaving scope ---------------------------------------------------------------------------


def test_out_of_scope_supersedes_everything_unapproved_but_a_mappa_ended_entry() -> None:
    entries = [
        E(1, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.PENDING, "h1"),
        E(2, Section.ACTIVITY, "C1", Kind.ACTIVITY, State.CLAIMED, "h1"),
        E(3, Section.MAPPA, "", Kind.MAPPA_ENDED, State.PENDING, "h1"),
        E(4, Section.ALIASES, "", Kind.NOMINAL_CREATE, State.APPROVED, "h1"),
    ]
    p = plan(case(in_scope=False, reason="offender manager does not need a proxy"), entries)
    assert [(s.entry_id, s.reason) for s in p.supersessions] == [
        (1, Reason.OUT_OF_SCOPE),
        (2, Reason.OUT_OF_SCOPE),
    ]
    assert p.supersessions[0].text == "out of scope: offender manager does not need a proxy"
    assert p.creates == ()
    assert p.withdrawals == ()


def test_mappa_deregistered_with_mappa_on_visor_asks_once_to_end_it() -> None:
    base = B(Section.MAPPA, "", "m1", MAPPA_XML)
    prepared = case(in_scope=False, reason="no active MAPPA registration", mappa_active=False)
    w = _only(plan(prepared, [], [base]).steps)
    assert (w.kind, w.reason, w.baseline) == (Kind.MAPPA_ENDED, Reason.MAPPA_DEREGISTERED, base)
    assert w.section.element.findtext("EndDate") == "2026-11-20"
    asked = E(5, Section.MAPPA, "", Kind.MAPPA_ENDED, State.CLAIMED, w.section.content_hash)
    assert plan(prepared, [asked], [base]).is_empty


def test_no_mappa_ended_without_mappa_on_visor_or_while_mappa_is_active() -> None:
    ended = case(in_scope=False, reason="no active MAPPA registration", mappa_active=False)
    assert plan(ended, [], [B(Section.MAPPA, "", "m1", None)]).is_empty
    assert plan(ended).is_empty
    active = case(in_scope=False, reason="offender manager does not need a proxy")
    assert plan(active, [], [B(Section.MAPPA, "", "m1", MAPPA_XML)]).is_empty


def test_a_merge_supersedes_the_unapproved_work_of_the_case_merged_away() -> None:
    entries = [
        E(1, Section.IDENTITY, "", Kind.NOMINAL_CREATE, State.PENDING, "h1"),
        E(2, Section.ALIASES, "", Kind.NOMINAL_CREATE, State.SUBMITTED, "h1"),
        E(3, Section.MAPPA, "", Kind.MAPPA_ENDED, State.CLAIMED, "h1"),
    ]
    p = plan_merge(entries, into="X100000")
    assert [s.entry_id for s in p.supersessions] == [1, 3]
    assert {s.text for s in p.supersessions} == {"merged into X100000 in nDelius"}


# -- properties ------------------------------------------------------------------------------

KEYS = [
    (Section.IDENTITY, ""),
    (Section.ALIASES, ""),
    (Section.MAPPA, ""),
    (Section.ACTIVITY, "C1"),
    (Section.ACTIVITY, "C2"),
    (Section.ACTIVITY, "C3"),
]
HASHES = st.sampled_from(["h1", "h2", "h3"])
SETTLED = sorted((TERMINAL | BASELINE | {State.FAILED}) - UNAPPROVED)


def _kinds(section: str) -> list[Kind]:
    if section == Section.ACTIVITY:
        return [Kind.ACTIVITY, Kind.ACTIVITY_WITHDRAWN]
    if section == Section.MAPPA:
        return [Kind.NOMINAL_UPDATE, Kind.MAPPA_ENDED]
    return [Kind.NOMINAL_CREATE, Kind.NOMINAL_UPDATE]


@st.composite
def _history(draw: st.DrawFn) -> list[E]:
    """Entries of the case, oldest first: any settled history, at most one unapproved a key."""
    drafts: list[tuple[str, str, Kind, State, str]] = []
    for section, key in KEYS:
        kinds = st.sampled_from(_kinds(section))
        for status in draw(st.lists(st.sampled_from(SETTLED), max_size=2)):
            drafts.append((section, key, draw(kinds), status, draw(HASHES)))
        if draw(st.booleans()):
            unapproved = draw(st.sampled_from(sorted(UNAPPROVED)))
            drafts.append((section, key, draw(kinds), unapproved, draw(HASHES)))
    drafts = draw(st.permutations(drafts)) if drafts else drafts
    # An unapproved entry is the newest of its key (anything after it would have superseded it).
    drafts.sort(key=lambda d: d[3] in UNAPPROVED)
    return [E(i + 1, *d) for i, d in enumerate(drafts)]


@st.composite
def _inputs(draw: st.DrawFn) -> tuple[PreparedCase, list[E], list[B], bool]:
    in_scope = draw(st.booleans())
    chosen = draw(st.lists(st.sampled_from(KEYS), unique=True, min_size=1))
    sections = tuple(sec(s, k, draw(HASHES), empty=draw(st.booleans())) for s, k in chosen)
    mappa_active = draw(st.booleans())
    prepared = case(
        *(sections if in_scope else ()),
        in_scope=in_scope,
        reason="" if in_scope else "out",
        visor=draw(st.booleans()),
        mappa_active=mappa_active,
    )
    baselines = [
        B(s, k, draw(HASHES), draw(st.sampled_from([MAPPA_XML, None])))
        if s == Section.MAPPA
        else B(s, k, draw(HASHES), draw(st.sampled_from([ACTIVITY_XML, None])))
        for s, k in draw(st.lists(st.sampled_from(KEYS), unique=True))
    ]
    entries = draw(st.one_of(st.just([]), _history()))
    return prepared, entries, baselines, draw(st.booleans())


def _apply(plan: QueuePlan, entries: list[E], baselines: list[B]) -> tuple[list[E], list[B]]:
    """What the page writer does with a plan, in memory."""
    gone = {s.entry_id for s in plan.supersessions}
    out = [replace(e, status=State.SUPERSEDED) if e.id in gone else e for e in entries]
    next_id = max((e.id for e in entries), default=0) + 1
    for step in plan.steps:
        if isinstance(step, Create):
            s = step.section
            out.append(E(next_id, s.name, s.key, step.kind, State.PENDING, s.content_hash))
            next_id += 1
    adopted = [B(s.name, s.key, s.content_hash, "<Section/>") for s in plan.adopt or ()]
    return out, [*baselines, *adopted]


def _unapproved_per_key(entries: list[E]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for e in entries:
        if e.status in UNAPPROVED:
            counts[(e.section, e.item_key)] = counts.get((e.section, e.item_key), 0) + 1
    return counts


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(_inputs())
def test_never_two_unapproved_entries_for_one_section_or_contact(
    inputs: tuple[PreparedCase, list[E], list[B], bool],
) -> None:
    prepared, entries, baselines, adopt = inputs
    after, _ = _apply(plan(prepared, entries, baselines, adopt=adopt), entries, baselines)
    assert all(n == 1 for n in _unapproved_per_key(after).values())


@PROPERTY
@given(_inputs())
def test_planning_the_same_input_again_is_a_no_op(
    inputs: tuple[PreparedCase, list[E], list[B], bool],
) -> None:
    prepared, entries, baselines, adopt = inputs
    first = plan(prepared, entries, baselines, adopt=adopt)
    after, after_baselines = _apply(first, entries, baselines)
    assert plan(prepared, after, after_baselines, adopt=adopt).is_empty


@PROPERTY
@given(_inputs())
def test_a_revert_to_the_baseline_supersedes_without_a_new_entry(
    inputs: tuple[PreparedCase, list[E], list[B], bool],
) -> None:
    prepared, entries, baselines, adopt = inputs
    p = plan(prepared, entries, baselines, adopt=adopt)
    by_key = {(b.section, b.item_key): b.content_hash for b in baselines}
    unapproved = {(e.section, e.item_key): e for e in entries if e.status in UNAPPROVED}
    created = {(c.section.name, c.section.key) for c in p.creates}
    for section in prepared.sections:
        key = (section.name, section.key)
        open_entry = unapproved.get(key)
        if (
            open_entry is not None
            and by_key.get(key) == section.content_hash != open_entry.content_hash
        ):
            assert Supersede(open_entry.id, Reason.REVERTED) in p.supersessions
            assert key not in created


@PROPERTY
@given(_inputs())
def test_out_of_scope_supersedes_everything_unapproved(
    inputs: tuple[PreparedCase, list[E], list[B], bool],
) -> None:
    prepared, entries, baselines, adopt = inputs
    if prepared.scope.in_scope:
        return
    p = plan(prepared, entries, baselines, adopt=adopt)
    after, _ = _apply(p, entries, baselines)
    assert all(e.kind == Kind.MAPPA_ENDED for e in after if e.status in UNAPPROVED)
    assert p.creates == ()
    assert p.adopt is None
    assert {s.reason for s in p.supersessions} <= {Reason.OUT_OF_SCOPE}
