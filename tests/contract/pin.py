"""Write the contract's pinned answers: ``python -m tests.contract.pin``.

Do not run this to make a failing contract test pass. The pinned answers are what the product
said before a change; re-pin only when an answer changes on purpose, and say so in CHANGELOG.md.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.contract.collect import collect, frozen, write_golden


def main() -> int:
    from leadledger.demo import run_demo
    from tests.conftest import DEMO_LEADS, DEMO_SEED

    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        with frozen():
            run_demo(demo, leads=DEMO_LEADS, seed=DEMO_SEED)
        write_golden(collect(demo, Path(tmp) / "work"))
    print("pinned", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
