"""What a person at a terminal reads: the same rows as `--json`, in words, and never content.

The `--json` shapes are the contract (tests/cli/test_cli.py); these check that the plain output
of the same commands says the same things, so an operator reading it is not misled.
"""

from __future__ import annotations

from bridge.core.vocabulary import section_label
from tests.builders import ADMIN, MANAGER, PROXY, PROXY_2, Cli

NAMES = ("Siobhán", "Ó Briain", "Murphy")  # G719053's record content: never in metadata output


def _ids(cli: Cli, crn: str) -> list[int]:
    return [r["id"] for r in cli.json("queue", "list") if r["crn"] == crn]


def test_queue_list_prints_every_row_of_the_json_and_no_content(synced_cli: Cli) -> None:
    rows = synced_cli.json("queue", "list")
    code, out, _ = synced_cli("queue", "list")
    assert code == 0
    lines = out.splitlines()
    for row in rows:
        assert any(
            line.split("│")[1:3] and str(row["id"]) in line and row["crn"] in line for line in lines
        ), row
    assert not any(name in out for name in NAMES)


def test_the_status_table_is_the_managers_view_without_content(synced_cli: Cli) -> None:
    status = synced_cli.json("status", "G719053", "--as", MANAGER)
    code, out, _ = synced_cli("status", "G719053", "--as", MANAGER)
    assert code == 0
    for entry in status["entries"]:
        assert str(entry["id"]) in out
        assert section_label(entry["section"]) in out
    assert not any(name in out for name in NAMES)


def test_review_actions_say_the_new_state(synced_cli: Cli) -> None:
    entry_id = str(_ids(synced_cli, "G719053")[0])
    assert (
        synced_cli("entry", "claim", entry_id, "--as", PROXY)[2]
        .strip()
        .endswith(f"Entry {entry_id}: With a proxy.")
    )
    code, out, err = synced_cli("entry", "show", entry_id, "--as", PROXY)
    assert code == 0
    assert f"Entry {entry_id}  G719053" in err
    assert "v1" in err
    assert out.lstrip().startswith("<")  # the record itself goes to stdout, for a pipe
    assert (
        synced_cli("entry", "release", entry_id, "--as", PROXY)[2]
        .strip()
        .endswith(f"Entry {entry_id}: Waiting.")
    )


def test_claim_next_names_what_it_claimed(synced_cli: Cli) -> None:
    code, _, err = synced_cli("queue", "claim-next", "--as", PROXY)
    assert code == 0
    claimed = synced_cli.json("queue", "list", "--status", "claimed")
    assert len(claimed) == 1
    assert f"Claimed entry {claimed[0]['id']} ({claimed[0]['crn']} " in err


def test_administrators_release_and_reassign_in_words(synced_cli: Cli) -> None:
    entry_id = str(_ids(synced_cli, "G719053")[0])
    synced_cli("entry", "claim", entry_id, "--as", PROXY)
    code, _, err = synced_cli("admin", "release", entry_id, "--as", ADMIN)
    assert (code, err.strip()) == (0, f"Entry {entry_id}: Waiting.")
    code, _, err = synced_cli("admin", "reassign", entry_id, "--to", PROXY_2, "--as", ADMIN)
    assert (code, err.strip()) == (0, f"Entry {entry_id} is now claimed by {PROXY_2}.")
    assert synced_cli.json("queue", "list", "--status", "claimed")[0]["id"] == int(entry_id)


def test_untakeable_and_expiring_say_the_same_as_their_json(synced_cli: Cli) -> None:
    untakeable = synced_cli.json("admin", "untakeable", "--as", ADMIN)
    code, _, err = synced_cli("admin", "untakeable", "--as", ADMIN)
    assert code == 0
    if untakeable:
        assert [line.split(":")[0] for line in err.splitlines()] == [r["crn"] for r in untakeable]
    else:
        assert "Every open entry can be taken" in err

    # The fixture registry gives the current proxies a year's vetting from the test's day.
    expiring = synced_cli.json("admin", "expiring", "--as", ADMIN, "--days", "400")
    assert {r["code"] for r in expiring} >= {PROXY, PROXY_2}
    code, _, err = synced_cli("admin", "expiring", "--as", ADMIN, "--days", "400")
    assert code == 0
    assert [line.split(":")[0] for line in err.splitlines()] == [r["code"] for r in expiring]
    code, _, err = synced_cli("admin", "expiring", "--as", ADMIN, "--days", "0")
    assert code == 0
    assert synced_cli.json("admin", "expiring", "--as", ADMIN, "--days", "0") == [
        r for r in expiring if r["expired"]
    ]
