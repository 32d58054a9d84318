"""Fault injection, shared by both simulators, driven over loopback sockets.

Every test checks both halves: the fault was installed (it is listed by `GET /__admin/faults`)
and it fired (its `hits`, counted by the simulator, are what the requests imply), so a test
cannot pass because a fault silently never applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bridge.clock import FixedClock
from bridge.sim.faults import FaultSet, FaultSpecError, parse_fault

from .kit import START, NdeliusSim, case_doc, record_xml

StartNdelius = Callable[..., NdeliusSim]


def _fault(sim: NdeliusSim, **spec: Any) -> None:
    response = sim.http.post("/__admin/faults", json=spec)
    assert response.status_code == 201, response.text
    assert response.json()["hits"] == 0


def _hits(http: httpx.Client) -> list[int]:
    """The hit count of every installed fault, in order (also proves they are installed)."""
    return [f["hits"] for f in http.get("/__admin/faults").json()["faults"]]


def test_count_limits_the_faulted_requests(sim: NdeliusSim) -> None:
    _fault(sim, path="^/events$", status=503, count=2)
    statuses = [sim.get("/events").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert _hits(sim.http) == [2]  # spent: the last two requests were not hits


def test_status_without_body_answers_a_json_error(sim: NdeliusSim) -> None:
    _fault(sim, path="/events", status=502)
    response = sim.get("/events")
    assert response.status_code == 502
    assert response.json() == {"status": 502, "error": "injected fault"}
    assert _hits(sim.http) == [1]


def test_body_without_status_is_a_200_with_that_raw_body(sim: NdeliusSim) -> None:
    _fault(sim, path="/all$", body='{"otherIds": {"crn": "X0', count=1)
    response = sim.get("/secure/offenders/crn/X000001/all")
    assert response.status_code == 200
    assert response.text == '{"otherIds": {"crn": "X0'
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert sim.get("/secure/offenders/crn/X000001/all").json()["otherIds"]["crn"] == "X000001"
    assert _hits(sim.http) == [1]


def test_path_is_a_regex_searched_in_the_path_without_query(sim: NdeliusSim) -> None:
    _fault(sim, path=r"/crn/X0+1/", status=500)
    assert sim.get("/secure/offenders/crn/X000001/all").status_code == 500
    assert sim.get("/secure/offenders/crn/X000002/all").status_code == 200
    _fault(sim, path=r"after=", status=500)  # the query string is not searched
    assert sim.get("/events", after=0).status_code == 200
    assert _hits(sim.http) == [1, 0]


def test_admin_paths_are_never_faulted(sim: NdeliusSim) -> None:
    _fault(sim, path="", status=500)
    assert sim.get("/events").status_code == 500
    assert sim.put_case("X000003", case_doc("X000003")).status_code == 200
    assert sim.http.get("/__admin/faults").json()["faults"][0]["hits"] == 1
    assert sim.http.delete("/__admin/faults").status_code == 200
    assert sim.get("/events").status_code == 200


def test_the_token_endpoint_can_be_faulted_and_issues_no_token(sim: NdeliusSim) -> None:
    _fault(sim, path="/oauth/token", status=503, count=1)
    with pytest.raises(AssertionError):
        sim.token()
    assert _hits(sim.http) == [1]
    sim.token()
    assert _hits(sim.http) == [1]


def test_seconds_is_a_window_on_the_injected_clock(sim: NdeliusSim) -> None:
    _fault(sim, path="/events", status=503, seconds=30)
    assert sim.get("/events").status_code == 503
    sim.clock.advance(29)
    assert sim.get("/events").status_code == 503
    sim.clock.advance(1)
    assert sim.get("/events").status_code == 200
    assert _hits(sim.http) == [2]  # the request after the window was not a hit


def _hit_pattern(start: StartNdelius, seed: int) -> list[int]:
    sim = start({})
    _fault(sim, path="/events", status=500, rate=0.3, seed=seed)
    pattern = [sim.get("/events").status_code for _ in range(40)]
    assert _hits(sim.http) == [pattern.count(500)]  # a miss of the rate draw is not a hit
    return pattern


def test_rate_hits_a_seeded_deterministic_share(start_ndelius: StartNdelius) -> None:
    first = _hit_pattern(start_ndelius, seed=7)
    assert first == _hit_pattern(start_ndelius, seed=7)
    assert 4 <= first.count(500) <= 20
    assert set(first) == {200, 500}


def test_delay_only_keeps_the_normal_response(sim: NdeliusSim) -> None:
    _fault(sim, path="/events", delayMs=5, count=1)
    assert sim.get("/events").json() == {"events": [], "lastSequence": 0}
    assert _hits(sim.http) == [1]  # the delay applied, the response is the normal one


def test_delay_with_status_answers_after_the_delay(sim: NdeliusSim) -> None:
    _fault(sim, path="/events", delayMs=5, status=504)
    assert sim.get("/events").status_code == 504
    assert _hits(sim.http) == [1]


def test_first_matching_fault_applies(sim: NdeliusSim) -> None:
    _fault(sim, path="/events", status=503, count=1)
    _fault(sim, path="/", status=500)
    assert sim.get("/events").status_code == 503
    assert sim.get("/events").status_code == 500
    assert _hits(sim.http) == [1, 1]


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "("},
        {"path": "/x", "status": 42},
        {"path": "/x", "rate": 1.5},
        {"path": "/x", "count": "two"},
        {"path": "/x", "body": {"not": "a string"}},
        {"path": "/x", "delayMs": True},
        ["not", "an", "object"],
    ],
)
def test_malformed_fault_specs_are_refused(sim: NdeliusSim, spec: object) -> None:
    response = sim.http.post("/__admin/faults", json=spec)
    assert response.status_code == 400
    assert sim.http.get("/__admin/faults").json() == {"faults": []}


def test_a_faulted_request_is_not_processed(visor_http: httpx.Client) -> None:
    posted = visor_http.post(
        "/__admin/faults", json={"path": "^/records$", "status": 503, "count": 1}
    )
    assert posted.status_code == 201
    headers = {"Idempotency-Key": "k-1"}
    assert visor_http.post("/records", content=record_xml(), headers=headers).status_code == 503
    assert visor_http.get("/__admin/records/count").json() == {"count": 0}
    retry = visor_http.post("/records", content=record_xml(), headers=headers)
    assert retry.status_code == 201
    assert visor_http.get("/__admin/records/count").json() == {"count": 1}
    assert _hits(visor_http) == [1]


def test_visor_reset_clears_faults(visor_http: httpx.Client) -> None:
    visor_http.post("/__admin/faults", json={"path": "/records", "status": 500})
    assert visor_http.get("/records").status_code == 500
    assert _hits(visor_http) == [1]
    visor_http.post("/__admin/reset")
    assert _hits(visor_http) == []
    assert visor_http.get("/records").status_code == 200


# -- the FaultSet on its own ---------------------------------------------------------------


def test_fault_set_counts_only_hits_and_skips_admin() -> None:
    clock = FixedClock(START)
    faults = FaultSet(clock)
    faults.add(parse_fault({"path": "", "status": 500, "count": 1}, clock.now()))
    assert faults.pick("/__admin/reset") is None
    assert faults.pick("/__admin") is None
    fired = faults.pick("/events")
    assert fired is not None
    assert fired.hits == 1
    assert faults.pick("/events") is None
    assert fired.hits == 1


def test_parse_fault_rejects_non_objects() -> None:
    with pytest.raises(FaultSpecError):
        parse_fault("nope", START)
