"""`check_mapping` / `write_goldens` over the real spec and fixtures, and `visor-bridge mappings check`."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bridge.cli import run
from bridge.config import default_fixtures_dir, default_mappings_dir
from bridge.core.record import field_diff
from bridge.core.xmltext import parse_untrusted
from bridge.mapping_files import load_mapping
from bridge.services.mapping_check import (
    GOLDEN_PREPARED_AT,
    check_mapping,
    golden_record,
    write_goldens,
)

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "fixtures"
CASE_COUNT = len(list((FIXTURES / "ndelius" / "cases").glob("*.json")))


@pytest.fixture
def mapping_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "visor-v1"
    shutil.copytree(default_mappings_dir(), folder)
    return folder


@pytest.fixture
def fixtures_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "ndelius", folder / "ndelius")
    shutil.copytree(FIXTURES / "visor", folder / "visor")
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- the service -----------------------------------------------------------------------------


def test_the_real_mapping_and_fixtures_pass() -> None:
    assert default_fixtures_dir() == FIXTURES
    report = check_mapping(load_mapping(default_mappings_dir()), FIXTURES)
    assert report.problems == []
    assert report.ok
    assert (report.cases, report.goldens) == (28, 28)
    assert CASE_COUNT == 28
    assert report.notes == []
    assert report.to_json() == {
        "ok": True,
        "version": report.version,
        "folder": str(default_mappings_dir()),
        "cases": 28,
        "goldens": 28,
        "problems": [],
        "notes": [],
        "fields_without_help": [],
    }
    assert report.version.startswith("visor-v1")


def test_a_field_without_a_help_line_is_a_warning(mapping_copy: Path) -> None:
    identity = mapping_copy / "sections" / "identity.toml"
    text = identity.read_text(encoding="utf-8")
    start = text.index('help = "Police National Computer')
    identity.write_text(text[:start] + text[text.index("\n", start) + 1 :], encoding="utf-8")
    bundle = load_mapping(mapping_copy)
    pnc = next(f for f in bundle.spec.sections[0].fields if f.element == "PNC")
    assert pnc.help is None
    report = check_mapping(bundle, FIXTURES)
    assert report.ok  # a warning, not a problem
    assert len(report.fields_without_help) == 1
    assert "(PNC" in report.fields_without_help[0]
    assert report.to_json()["fields_without_help"] == report.fields_without_help


def test_a_code_used_by_the_fixtures_but_missing_from_its_table(mapping_copy: Path) -> None:
    _edit(mapping_copy / "codes" / "mappa-categories.toml", 'M2 = "2"\n', "")
    report = check_mapping(load_mapping(mapping_copy), FIXTURES)
    assert not report.ok
    coverage = [p for p in report.problems if p.startswith("codes/mappa-categories.toml")]
    assert len(coverage) == 1, report.problems
    assert "'M2'" in coverage[0]
    assert "neither in [codes] nor in [table].unknown" in coverage[0]


def test_a_mistyped_source_path_finds_nothing_and_is_named(mapping_copy: Path) -> None:
    _edit(
        mapping_copy / "sections" / "identity.toml",
        'source = "offender.surname"',
        'source = "offender.surnme"',
    )
    report = check_mapping(load_mapping(mapping_copy), FIXTURES)
    assert not report.ok
    named = [
        p for p in report.problems if p.startswith("sections/identity.toml fields[1] (Surname")
    ]
    assert len(named) == 1, report.problems
    assert "its source finds nothing in any fixture case" in named[0]


def test_an_edited_golden_is_named_with_the_field_that_differs(fixtures_copy: Path) -> None:
    golden = fixtures_copy / "visor" / "B203456.xml"
    _edit(golden, "<Surname>Docherty</Surname>", "<Surname>Dougherty</Surname>")
    report = check_mapping(load_mapping(default_mappings_dir()), fixtures_copy)
    assert not report.ok
    assert report.goldens == 28  # it was read, and differs
    (problem,) = report.problems
    assert problem.startswith("fixtures/visor/B203456.xml: differs from the mapping's output at ")
    assert "Nominal/Identity/Surname" in problem
    assert "bridge mappings golden" in problem
    assert "Dougherty" not in problem
    assert "Docherty" not in problem


def test_a_deleted_golden_is_reported_missing(fixtures_copy: Path) -> None:
    (fixtures_copy / "visor" / "K134872.xml").unlink()
    report = check_mapping(load_mapping(default_mappings_dir()), fixtures_copy)
    assert report.problems == [
        "fixtures/visor/K134872.xml: golden example is missing (run `visor-bridge mappings golden`)"
    ]
    assert (report.cases, report.goldens) == (28, 27)


def test_a_golden_that_is_not_xml_is_reported(fixtures_copy: Path) -> None:
    (fixtures_copy / "visor" / "K134872.xml").write_text("<Record>", encoding="utf-8")
    report = check_mapping(load_mapping(default_mappings_dir()), fixtures_copy)
    (problem,) = report.problems
    assert problem.startswith("fixtures/visor/K134872.xml: not usable XML")


def test_many_differing_goldens_are_summarised(fixtures_copy: Path) -> None:
    for path in sorted((fixtures_copy / "visor").glob("*.xml"))[:7]:
        _edit(path, "<MappingVersion>", "<MappingVersion>old-")
    report = check_mapping(load_mapping(default_mappings_dir()), fixtures_copy)
    assert len(report.problems) == 6
    assert report.problems[-1] == "... and 2 more golden examples differ"


def test_write_goldens_makes_the_check_pass_again(fixtures_copy: Path) -> None:
    bundle = load_mapping(default_mappings_dir())
    _edit(
        fixtures_copy / "visor" / "B203456.xml",
        "<Surname>Docherty</Surname>",
        "<Surname>X</Surname>",
    )
    (fixtures_copy / "visor" / "K134872.xml").unlink()
    assert len(check_mapping(bundle, fixtures_copy).problems) == 2

    assert write_goldens(bundle, fixtures_copy) == 28
    report = check_mapping(bundle, fixtures_copy)
    assert report.problems == []
    assert (report.cases, report.goldens) == (28, 28)
    # the regenerated goldens are the committed ones, byte for byte
    for path in sorted((FIXTURES / "visor").glob("*.xml")):
        assert (fixtures_copy / "visor" / path.name).read_bytes() == path.read_bytes(), path.name


def test_write_goldens_creates_the_visor_folder(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "ndelius", fixtures / "ndelius")
    assert write_goldens(load_mapping(default_mappings_dir()), fixtures) == 28
    assert len(list((fixtures / "visor").glob("*.xml"))) == 28


def test_golden_record_is_the_whole_nominal_at_a_fixed_moment() -> None:
    bundle = load_mapping(default_mappings_dir())
    document = json.loads(
        (FIXTURES / "ndelius" / "cases" / "B203456.json").read_text(encoding="utf-8")
    )
    record, mapped = golden_record(bundle, "B203456", document)
    assert mapped.owning_force == "NORTHUMBRIA"
    expected = parse_untrusted((FIXTURES / "visor" / "B203456.xml").read_bytes())
    assert field_diff(expected, record) == []
    assert record.findtext("{*}Envelope/{*}PreparedAt") == GOLDEN_PREPARED_AT.isoformat()
    assert record.findtext("{*}Envelope/{*}Kind") == "nominal-create"
    assert bundle.schema.validate(record), bundle.schema.error_log


def test_without_fixtures_the_check_notes_it_and_finds_no_problems() -> None:
    report = check_mapping(load_mapping(default_mappings_dir()), None)
    assert report.ok
    assert report.problems == []
    assert (report.cases, report.goldens) == (0, 0)
    assert len(report.notes) == 1
    assert "No fixtures folder" in report.notes[0]


def test_an_unreadable_fixture_case_is_named(fixtures_copy: Path) -> None:
    (fixtures_copy / "ndelius" / "cases" / "B203456.json").write_text("{", encoding="utf-8")
    report = check_mapping(load_mapping(default_mappings_dir()), fixtures_copy)
    assert any(
        p.startswith("fixtures/ndelius/cases/B203456.json: cannot be read") for p in report.problems
    ), report.problems
    assert report.cases == 27


def test_an_empty_fixtures_folder_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "ndelius" / "cases").mkdir(parents=True)
    report = check_mapping(load_mapping(default_mappings_dir()), tmp_path)
    assert f"{tmp_path}/ndelius/cases: no fixture cases found" in report.problems


# -- through the CLI -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`run()` points structlog at the captured stderr, which closes after the test: undo it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def bridge(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_check_passes_with_ok_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bridge(capsys, "mappings", "check")
    assert code == 0, err
    assert out == ""
    assert "OK" in err
    assert "28 fixture cases" in err
    assert "28 golden examples match" in err


def test_cli_check_json_is_one_document_with_the_contract_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = bridge(capsys, "mappings", "check", "--json")
    assert code == 0, err
    report = json.loads(out)
    contract = {"ok", "version", "folder", "cases", "goldens", "problems", "notes"}
    assert set(report) == contract | {"fields_without_help"}
    assert report["ok"] is True
    assert (report["cases"], report["goldens"], report["problems"]) == (28, 28, [])
    assert report["folder"] == str(default_mappings_dir())


def test_cli_check_names_the_file_and_key_of_a_broken_spec(
    capsys: pytest.CaptureFixture[str], mapping_copy: Path
) -> None:
    _edit(mapping_copy / "sections" / "identity.toml", 'transform = "pnc"', 'transform = "pcn"')
    code, out, err = bridge(capsys, "mappings", "check", str(mapping_copy))
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert str(mapping_copy) in err
    assert re.search(
        r"sections/identity\.toml fields\[\d+\] \(PNC, line \d+\) transform: 'pcn' is not a transform",
        err,
    ), err


def test_cli_check_reports_fixture_problems_with_the_file_and_key(
    capsys: pytest.CaptureFixture[str], mapping_copy: Path, fixtures_copy: Path
) -> None:
    _edit(mapping_copy / "codes" / "mappa-categories.toml", 'M2 = "2"\n', "")
    (fixtures_copy / "visor" / "K134872.xml").unlink()
    code, out, err = bridge(
        capsys, "mappings", "check", str(mapping_copy), "--fixtures", str(fixtures_copy)
    )
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert "codes/mappa-categories.toml" in err
    assert "'M2'" in err
    assert "fixtures/visor/K134872.xml: golden example is missing" in err


def test_cli_check_json_of_a_failing_check_still_prints_one_document(
    capsys: pytest.CaptureFixture[str], fixtures_copy: Path
) -> None:
    (fixtures_copy / "visor" / "K134872.xml").unlink()
    code, out, err = bridge(capsys, "mappings", "check", "--fixtures", str(fixtures_copy), "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False
    assert report["problems"] == [
        "fixtures/visor/K134872.xml: golden example is missing (run `visor-bridge mappings golden`)"
    ]
    assert "K134872" in err


def test_cli_golden_rewrites_the_examples(
    capsys: pytest.CaptureFixture[str], fixtures_copy: Path
) -> None:
    (fixtures_copy / "visor" / "K134872.xml").unlink()
    code, _, err = bridge(capsys, "mappings", "golden", "--fixtures", str(fixtures_copy))
    assert code == 0, err
    assert "Wrote 28 golden examples" in err
    code, _, err = bridge(capsys, "mappings", "check", "--fixtures", str(fixtures_copy))
    assert code == 0, err
    assert "OK" in err
