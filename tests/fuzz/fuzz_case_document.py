"""Coverage-guided fuzz of case document → mapped record with atheris (`make fuzz`).

    python tests/fuzz/fuzz_case_document.py -max_total_time=60 build/fuzz-corpus tests/fuzz/corpus

libFuzzer writes the inputs it finds into the first folder (kept out of the repository) and
reads the seeds of the second (tests/fuzz/corpus, replayed by the test suite). A crash or a
broken property (tests/fuzz/case_document.py) stops the run and leaves `crash-*` behind: add
it to tests/fuzz/corpus once fixed, so the suite keeps it fixed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["bridge"]):
    from tests.fuzz.case_document import check_document


def main() -> None:
    atheris.Setup(sys.argv, check_document)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
