"""`visor-bridge entry ...` and `status` with an id or CRN that cannot exist: refused exactly as
an unknown one (exit 1, the same line), never a traceback (issue 18)."""

from __future__ import annotations

from tests.builders import MANAGER, PROXY, Cli

UNKNOWN_ID = "999999"
IMPOSSIBLE_IDS = ["2147483648", "9223372036854775808", "99999999999999999999999"]


def test_the_cli_refuses_an_impossible_id_like_an_unknown_one(cli: Cli) -> None:
    code, out, unknown = cli("entry", "show", UNKNOWN_ID, "--as", PROXY, "--json")
    assert (code, out) == (1, "")
    for entry_id in IMPOSSIBLE_IDS:
        assert cli("entry", "show", entry_id, "--as", PROXY, "--json") == (1, "", unknown)
        assert cli("entry", "claim", entry_id, "--as", PROXY) == (1, "", unknown)
    code, _, err = cli("status", "b203456", "--as", MANAGER, "--json")
    assert (code, err) == (1, cli("status", "Z999999", "--as", MANAGER, "--json")[2])
