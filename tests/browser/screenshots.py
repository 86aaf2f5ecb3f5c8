"""Write screenshots of the console's main pages at 360 px and 1280 px wide under
docs/console/: `python -m tests.browser.screenshots` (set TEST_DATABASE_URL to use a
running PostgreSQL; otherwise the embedded one starts). It runs the browser journey
with KRISHI_CONSOLE_SCREENSHOTS set, so the pictures show real data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    target = ROOT / "docs" / "console"
    os.environ["KRISHI_CONSOLE_SCREENSHOTS"] = str(target)
    code = pytest.main(
        [str(ROOT / "tests" / "browser" / "test_journey.py"), "-q", "-p", "no:cacheprovider"]
    )
    if code == 0:
        print(f"screenshots written to {target}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
