"""Small timing helpers shared by the benchmarks (wall clock, median of runs)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def sample_commands(commands: dict[str, list[str]], runs: int, **kwargs) -> dict[str, list[float]]:
    """Wall seconds per run of each command, the commands interleaved run by
    run so that a noisy neighbour slows all of them alike."""
    for argv in commands.values():
        subprocess.run(argv, check=True, capture_output=True, **kwargs)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, **kwargs)
            samples[name].append(time.perf_counter() - start)
    return samples


def report(name: str, value: float, unit: str, target: str | None = None, ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("  [meets target]" if ok else "  [MISSES target]")
    line = f"{name:<48} {value:8.3f} {unit:<3}" + (f"  target {target}" if target else "") + verdict
    print(line, flush=True)
    return line
