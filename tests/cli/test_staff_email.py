"""The staff file's optional `email` (ARCHITECTURE §6, issue 16): imported, updated, cleared by a
re-import without it, and a malformed one refuses the whole file."""

from __future__ import annotations

from pathlib import Path

from tests.builders import Cli
from tests.cli.test_staff_import_rules import _file, _registry

PERSON = {"code": "N07X003", "name": "New Officer", "roles": ["offender_manager"]}


def test_email_is_imported_updated_and_cleared(cli: Cli, tmp_path: Path) -> None:
    assert (
        cli("staff", "import", _file(tmp_path, {**PERSON, "email": " a.b@justice.example "}))[0]
        == 0
    )
    assert _registry()["N07X003"].email == "a.b@justice.example"
    assert cli("staff", "import", _file(tmp_path, {**PERSON, "email": "c@justice.example"}))[0] == 0
    assert _registry()["N07X003"].email == "c@justice.example"
    assert cli("staff", "import", _file(tmp_path, PERSON))[0] == 0
    assert _registry()["N07X003"].email is None


def test_a_malformed_email_refuses_the_file(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("staff", "import", _file(tmp_path, {**PERSON, "email": "not an address"}))
    assert code == 2
    assert "email address" in err
    assert "N07X003" not in _registry()
    code, _, err = cli("staff", "import", _file(tmp_path, {**PERSON, "email": 42}))
    assert code == 2
    assert "email: must be text" in err
