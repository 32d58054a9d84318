"""Logs are JSON lines (issue 19): structlog's and the standard library's alike, each carrying
the request id of the web request or the run id of the scheduled job that logged it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient

from bridge.logs import bound, configure_logging
from bridge.scheduler import claims_job
from tests.builders import MakeWiring
from tests.web_app import create_app


@pytest.fixture
def json_logging() -> Iterator[None]:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(verbose=True)
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_both_loggers_write_json_lines_with_the_bound_ids(
    json_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    with bound(request_id="r1"):
        structlog.get_logger("t").warning("one.event", crn="X123456")
        logging.getLogger("tests.stdlib").warning("plain %s", "text")
    structlog.get_logger("t").warning("after")
    first, second, third = _lines(capfd.readouterr().err)
    assert first["event"] == "one.event"
    assert first["level"] == "warning"
    assert first["request_id"] == "r1"
    assert first["crn"] == "X123456"
    assert second == {
        **second,
        "event": "plain text",
        "logger": "tests.stdlib",
        "request_id": "r1",
    }
    assert "request_id" not in third


def test_each_request_has_an_id_in_its_answer(make_wiring: MakeWiring, sqlite_url: str) -> None:
    client = TestClient(create_app(make_wiring(sqlite_url)))
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 16
    assert client.get("/healthz").headers["x-request-id"] != made
    given = client.get("/healthz", headers={"X-Request-Id": "proxy-req-0001"})
    assert given.headers["x-request-id"] == "proxy-req-0001"
    odd = client.get("/healthz", headers={"X-Request-Id": 'a b"c'})
    assert odd.headers["x-request-id"] != 'a b"c'


def test_a_scheduled_jobs_lines_carry_its_run_id(
    make_wiring: MakeWiring, sqlite_url: str, json_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    wiring = make_wiring(sqlite_url)
    claims_job(wiring)
    claims_job(wiring)  # the same tick: skipped, under a run id of its own
    lines = [line for line in _lines(capfd.readouterr().err) if line.get("job") == "claims"]
    assert [line["event"] for line in lines] == ["claims.job_done", "claims.skipped"]
    ids = {line["job_run_id"] for line in lines}
    assert len(ids) == 2
