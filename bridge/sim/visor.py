"""ViSOR-like API simulator (ARCHITECTURE.md §5): XSD-checked, idempotent intake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree

from bridge.clock import Clock
from bridge.sim.building import one_build_at_a_time
from bridge.sim.events import format_instant
from bridge.sim.faults import install_faults

__all__ = ["create_app", "hardened_parser"]


@dataclass(frozen=True)
class StoredRecord:
    """A record ViSOR accepted, kept exactly as it was received."""

    reference: str
    crn: str
    kind: str
    received_at: str
    xml: bytes


def hardened_parser() -> etree.XMLParser:
    """An lxml parser that loads no DTD, expands no entity and opens no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _envelope_text(root: etree._Element, name: str) -> str:
    found = root.xpath(f"(//*[local-name()='Envelope']/*[local-name()='{name}'])[1]/text()")
    return str(found[0]).strip() if isinstance(found, list) and found else ""


class VisorState:
    """Accepted records, the idempotency keys already seen and the reference counter."""

    def __init__(self, schema: etree.XMLSchema, clock: Clock) -> None:
        self.schema = schema
        self.clock = clock
        self.records: dict[str, StoredRecord] = {}
        self.by_key: dict[str, str] = {}

    def reset(self) -> None:
        self.records.clear()
        self.by_key.clear()

    def check(self, body: bytes) -> tuple[etree._Element | None, list[str]]:
        """Parse and validate a record: (root, []) when valid, else (None, errors)."""
        try:
            root = etree.fromstring(body, hardened_parser())
        except etree.XMLSyntaxError as exc:
            return None, [f"not well-formed XML: {exc}"]
        if root is None:
            return None, ["empty document"]
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            return None, ["a DOCTYPE is not allowed"]
        if not self.schema.validate(root):
            return None, [f"line {error.line}: {error.message}" for error in self.schema.error_log]
        return root, []

    def accept(self, key: str, root: etree._Element, body: bytes) -> StoredRecord:
        reference = f"VIS-{len(self.records) + 1:08d}"
        record = StoredRecord(
            reference=reference,
            crn=_envelope_text(root, "CRN"),
            kind=_envelope_text(root, "Kind"),
            received_at=format_instant(self.clock.now()),
            xml=body,
        )
        self.records[reference] = record
        self.by_key[key] = reference
        return record


def _add_routes(app: FastAPI, state: VisorState) -> None:
    @app.post("/records")
    async def post_record(request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            return JSONResponse(
                {"errors": ["the Idempotency-Key header is required"]}, status_code=400
            )
        if key in state.by_key:
            return JSONResponse({"reference": state.by_key[key]}, status_code=200)
        body = await request.body()
        root, errors = state.check(body)
        if root is None:
            return JSONResponse({"errors": errors}, status_code=422)
        record = state.accept(key, root, body)
        return JSONResponse({"reference": record.reference}, status_code=201)

    @app.get("/records/{reference}")
    async def get_record(reference: str) -> Response:
        record = state.records.get(reference)
        if record is None:
            return JSONResponse({"status": 404, "error": f"no record {reference}"}, status_code=404)
        return Response(content=record.xml, media_type="application/xml")

    @app.get("/records")
    async def list_records(crn: str | None = None) -> dict[str, Any]:
        return {
            "records": [
                {"reference": r.reference, "kind": r.kind, "receivedAt": r.received_at}
                for r in state.records.values()
                if crn is None or r.crn == crn
            ]
        }

    @app.get("/__admin/records/count")
    async def count() -> dict[str, int]:
        return {"count": len(state.records)}


@one_build_at_a_time
def create_app(*, schema_path: Path, clock: Clock) -> FastAPI:
    """A fresh ViSOR-like API validating records against the XSD at `schema_path`."""
    schema = etree.XMLSchema(etree.parse(str(schema_path), hardened_parser()))
    app = FastAPI(title="ViSOR simulator", docs_url=None, redoc_url=None)
    state = VisorState(schema, clock)
    faults = install_faults(app, clock)
    _add_routes(app, state)

    @app.post("/__admin/reset")
    async def reset() -> dict[str, int]:
        state.reset()
        faults.clear()
        return {"count": 0}

    app.state.sim = state
    return app
