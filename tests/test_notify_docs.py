"""docs/notify-templates.md is the text to paste into GOV.UK Notify: it must be the templates
the bridge sends (bridge/core/notify_kinds.py), key for key and word for word."""

from __future__ import annotations

from bridge.core.notify_kinds import KINDS
from tests.builders import ROOT


def test_the_templates_document_holds_every_kind_word_for_word() -> None:
    text = (ROOT / "docs" / "notify-templates.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"## {kind.title}\n" in text
        assert f"`{kind.setting}`" in text
        assert f"```\n{kind.subject}\n```" in text
        assert f"```\n{kind.body}\n```" in text
        assert kind.means in text
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert kind.title in operations, kind.title  # what each message means, for operators
