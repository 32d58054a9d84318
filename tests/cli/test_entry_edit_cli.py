"""`visor-bridge entry edit`: a new version (exit 0), a stale version (exit 1), a bad value (exit 2)."""

from __future__ import annotations

from tests.builders import PROXY, Cli, only_cases


def test_entry_edit_exit_codes(cli: Cli, ndelius_url: str) -> None:
    only_cases(ndelius_url, {"B219904"})
    cli.json("sync")
    [row] = [r for r in cli.json("queue", "list") if r["section"] == "identity"]
    entry = str(row["id"])
    assert cli("entry", "claim", entry, "--as", PROXY)[0] == 0

    edited = cli.json(
        "entry", "edit", entry, "--as", PROXY, "--version", "1", "--set", "PNC=2008/0545166T"
    )
    assert edited["version"] == 2
    assert not any(i["blocking"] for i in edited["issues"])

    code, out, err = cli(
        "entry", "edit", entry, "--as", PROXY, "--version", "1", "--set", "Surname=X"
    )
    assert (code, out) == (1, "")
    assert "version 2, not 1" in err
    assert "Traceback" not in err

    code, out, err = cli(
        "entry", "edit", entry, "--as", PROXY, "--version", "2", "--set", "PNC=2008/0545166A"
    )
    assert (code, out) == (2, "")
    assert "PNC: PNC number must be" in err
    assert "0545166A" not in err  # the message names the field, never the value

    code, _out, err = cli(
        "entry", "edit", entry, "--as", PROXY, "--version", "2", "--set", "novalue"
    )
    assert code == 2
    assert "FIELD=VALUE" in err
