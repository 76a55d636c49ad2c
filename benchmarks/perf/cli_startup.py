"""Warm start-up time of `fmbench --help` (target: under 1 s), against a bare interpreter.

python benchmarks/perf/cli_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], repeat: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    bare = median_seconds([sys.executable, "-c", "pass"], args.repeat)
    helped = median_seconds([sys.executable, "-m", "fmbench", "--help"], args.repeat)
    listed = median_seconds([sys.executable, "-m", "fmbench", "list", "--json"], args.repeat)
    print(f"python -c pass        {bare * 1000:7.1f} ms")
    print(
        f"fmbench --help        {helped * 1000:7.1f} ms  ({helped / bare:.1f}x bare; target < 1000 ms)"
    )
    print(
        f"fmbench list --json   {listed * 1000:7.1f} ms  ({listed / bare:.1f}x bare; loads every plugin)"
    )


if __name__ == "__main__":
    main()
