"""CLI for the declarative mapping: check it, and regenerate the golden examples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import emit_json, info, wiring
from bridge.config import default_fixtures_dir
from bridge.errors import MappingSpecError
from bridge.mapping_files import load_mapping

__all__ = ["mappings_app"]

mappings_app = typer.Typer(help="The declarative ViSOR mapping.", no_args_is_help=True)

FolderArg = Annotated[
    Path | None, typer.Argument(help="Mapping folder (default: the configured one).")
]
FixturesOpt = Annotated[
    Path | None,
    typer.Option(
        "--fixtures", help="Fixtures folder with ndelius/cases and visor (default: the repo's)."
    ),
]


@mappings_app.command("check")
def mappings_check(
    ctx: typer.Context,
    folder: FolderArg = None,
    fixtures: FixturesOpt = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Validate the spec, code tables (fixture codes covered), XSD and golden examples."""
    from bridge.services.mapping_check import check_mapping

    target = folder or wiring(ctx).settings.mappings_dir
    bundle = load_mapping(target)
    report = check_mapping(bundle, fixtures or default_fixtures_dir())
    if json_:
        emit_json(report.to_json())
    for note in report.notes:
        info(note)
    for where in report.fields_without_help:
        info(f"warning: fields_without_help: {where} has no help line for the question page")
    if not report.ok:
        raise MappingSpecError(report.problems, folder=target)
    info(
        f"Mapping {bundle.version} in {target}: OK ({report.cases} fixture cases, "
        f"{report.goldens} golden examples match)."
    )


@mappings_app.command("golden")
def mappings_golden(
    ctx: typer.Context, folder: FolderArg = None, fixtures: FixturesOpt = None
) -> None:
    """Rewrite fixtures/visor/*.xml from the current mapping (review the diff before committing)."""
    from bridge.services.mapping_check import write_goldens

    target_fixtures = fixtures or default_fixtures_dir()
    if target_fixtures is None:
        raise typer.BadParameter("no fixtures folder found; pass --fixtures DIR")
    bundle = load_mapping(folder or wiring(ctx).settings.mappings_dir)
    count = write_goldens(bundle, target_fixtures)
    info(f"Wrote {count} golden examples to {target_fixtures / 'visor'} ({bundle.version}).")
