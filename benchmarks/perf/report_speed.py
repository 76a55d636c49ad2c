"""Size and write time of `fmbench report` for a two-run report (target: a 100-item,
two-run report under 30 MB, written in under 30 s warm on 2 cores).

python benchmarks/perf/report_speed.py                      # makes two 100-item runs first
python benchmarks/perf/report_speed.py --runs RUN_A RUN_B   # existing runs (renders cached)

"Warm" means the runs' renders are in the render cache. Two timings are printed: with
the report's media cache empty (every clip encoded: MP3, spectrogram, envelope) and
with it filled (a second report of the same runs). Wall and CPU seconds (this process
plus its workers) are given, with the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class SplitCache:
    """Renders from the warm cache, report media from a separate (initially empty) one."""

    def __init__(self, renders, media):
        self.renders, self.media = renders, media

    def _pick(self, namespace):
        return self.media if namespace == "report-media" else self.renders

    def get(self, namespace, key):
        return self._pick(namespace).get(namespace, key)

    def put(self, namespace, key, value):
        self._pick(namespace).put(namespace, key, value)

    @property
    def enabled(self):
        return True


def make_runs(root: Path, limit: int) -> list[Path]:
    runs = []
    for gen in ("retrieval", "random"):
        out = root / f"default-{gen}"
        cmd = [sys.executable, "-m", "fmbench", "run", "-g", gen, "--benchmark", "default",
               "--limit", str(limit), "--metrics", "parse_rate,validity_rate,dx7_dist,rms,kad:mfcc",
               "--run-dir", str(out), "--quiet"]  # fmt: skip
        print(f"making {out} ...", flush=True)
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(out)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", type=Path, help="run directories (default: make two)")
    parser.add_argument("--limit", type=int, default=100, help="items per made run")
    parser.add_argument("--workers", "-j", type=int, default=2)
    args = parser.parse_args()
    from fmbench.cache import Cache
    from fmbench.report.site import build_report

    with tempfile.TemporaryDirectory(prefix="fmbench-report-perf-") as tmp:
        tmp_path = Path(tmp)
        if args.runs:
            runs = args.runs
        else:
            os.environ["FMBENCH_CACHE"] = str(tmp_path / "cache")
            runs = make_runs(tmp_path, args.limit)
        cache = SplitCache(Cache(), Cache(tmp_path / "media-cache"))
        for label in ("media cache empty", "media cache warm"):
            out = tmp_path / "report"
            load = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), cpu_seconds()
            build_report(runs, out, workers=args.workers, cache=cache)
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            size = folder_bytes(out) / 1e6
            clips = len(list((out / "media").glob("*.mp3")))
            print(
                f"{label:<18} wall {wall:6.1f} s  cpu {cpu:6.1f} s  size {size:5.1f} MB  "
                f"{clips} clips  ({args.workers} workers, load average {load:.1f})"
            )


if __name__ == "__main__":
    main()
