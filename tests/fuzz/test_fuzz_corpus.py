"""The case-document fuzz's kept corpus, replayed in the suite (tests/fuzz/case_document.py):
every seed and every input a fuzz run found worth keeping maps without raising, to a blocking
issue or a valid record, or is refused as unreadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.case_document import check_document

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name)
def test_the_corpus_holds_the_properties(path: Path) -> None:
    check_document(path.read_bytes())
