"""Benchmark: mapping throughput (case document → validated record) against the lxml floor.

Run with `make bench`. Both sides map the same generated case documents to whole-nominal records,
serialise them and validate them against the XSD; the floor does it with hand-written lxml code
(tests/bench/floor.py). The two are measured alternately in the same process, several rounds, and
the ratio of their best rounds is reported and written into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.config import default_mappings_dir
from bridge.core.record import canonical_hash
from bridge.mapping_files import load_mapping
from bridge.services.mapping_check import GOLDEN_PREPARED_AT, golden_record
from bridge.sim.generate import iter_cases
from tests.bench.floor import Floor
from tests.bench.report import write_section

TARGET = 0.5


def _engine(bundle: Any) -> Callable[[str, dict[str, Any]], bool]:
    schema = bundle.schema

    def run(crn: str, doc: dict[str, Any]) -> bool:
        record, _ = golden_record(bundle, crn, doc)
        etree.tostring(record, encoding="UTF-8")
        return bool(schema.validate(record))

    return run


def _floor(bundle: Any) -> Callable[[str, dict[str, Any]], bool]:
    floor = Floor({n: t.codes for n, t in bundle.spec.tables.items()}, bundle.version)
    schema = bundle.schema

    def run(crn: str, doc: dict[str, Any]) -> bool:
        record = floor.record(crn, doc, GOLDEN_PREPARED_AT)
        etree.tostring(record, encoding="UTF-8")
        return bool(schema.validate(record))

    return run


def _same_output(bundle: Any, docs: list[tuple[str, dict[str, Any]]]) -> None:
    """Refuse to time anything unless both sides produce the same canonical records."""
    floor = Floor({n: t.codes for n, t in bundle.spec.tables.items()}, bundle.version)
    for crn, doc in docs:
        engine_record, _ = golden_record(bundle, crn, doc)
        floor_record = floor.record(crn, doc, GOLDEN_PREPARED_AT)
        if canonical_hash(engine_record) != canonical_hash(floor_record):
            sys.exit(f"floor and engine differ for {crn}: fix tests/bench/floor.py first")
        if not bundle.schema.validate(engine_record):
            sys.exit(f"{crn}: generated case maps to an XSD-invalid record")


def _round(
    run: Callable[[str, dict[str, Any]], bool], docs: list[tuple[str, dict[str, Any]]]
) -> float:
    gc.collect()
    start = time.perf_counter()
    for crn, doc in docs:
        run(crn, doc)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--report", type=Path, default=Path("docs/BENCHMARKS.md"))
    args = parser.parse_args(argv)

    bundle = load_mapping(default_mappings_dir())
    docs = list(iter_cases(cases=args.cases, seed=args.seed))
    _same_output(bundle, docs)
    engine, floor = _engine(bundle), _floor(bundle)
    times: dict[str, list[float]] = {"engine": [], "floor": []}
    _round(engine, docs[:200])  # warm both up (imports, caches) before timing
    _round(floor, docs[:200])
    for n in range(args.rounds):
        order = (
            (("engine", engine), ("floor", floor))
            if n % 2 == 0
            else (("floor", floor), ("engine", engine))
        )
        for name, run in order:
            times[name].append(_round(run, docs))
    best = {k: min(v) for k, v in times.items()}
    ratio = best["floor"] / best["engine"]
    rows = [
        ("declarative engine", best["engine"], statistics.median(times["engine"])),
        ("hand-written lxml floor", best["floor"], statistics.median(times["floor"])),
    ]
    verdict = "meets" if ratio >= TARGET else "MISSES"
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, lxml {etree.__version__}; "
        f"{args.cases} generated cases (seed {args.seed}), best of {args.rounds} alternating rounds. "
        "Each case: case document → every section mapped → whole-nominal record → serialised → "
        "XSD-validated. Both sides produce identical canonical XML (checked before timing).",
        "",
        "| path | best round | median round | cases/s (best) |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {b:.3f} s | {m:.3f} s | {args.cases / b:,.0f} |" for name, b, m in rows),
        "",
        f"**Ratio (engine throughput / floor throughput): {ratio:.2f}** — target ≥ {TARGET}: {verdict}.",
    ]
    write_section(args.report, "mapping", "\n".join(lines))
    print("\n".join(lines))  # noqa: T201
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
