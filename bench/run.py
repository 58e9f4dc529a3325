"""Run every benchmark under bench/ and print the figures (`make bench`).

Benchmarks report; they never fail the build.  Timed tests are not used
anywhere in the suite: speed targets live here.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    sys.path.insert(0, str(HERE))
    only = sys.argv[1:]
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem.removeprefix("bench_") not in only:
            continue
        print(f"== {path.stem}", flush=True)
        runpy.run_path(str(path), run_name="__main__")


if __name__ == "__main__":
    main()
