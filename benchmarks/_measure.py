"""Run a command as a child process and report its wall time, CPU time and peak RSS (for the benchmarks).

CPU time (user + system) is reported beside wall time because the machine is shared and noisy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float = 0.0


def measure(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time and peak RSS of `argv` run in a fresh child (the child's own maximum, via wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env or dict(os.environ), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"benchmark step failed ({proc.returncode}): {' '.join(argv)}")
    return Run(elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def best(runs: list[Run]) -> Run:
    """The fastest run, with the highest peak RSS seen (memory is a bound, time a best case)."""
    return Run(
        min(r.seconds for r in runs), max(r.peak_rss_mb for r in runs), min(r.cpu_seconds for r in runs)
    )
