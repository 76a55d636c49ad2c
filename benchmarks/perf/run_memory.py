"""Peak memory and time per item of `fmbench run` as the item count grows.

For each size N it writes a benchmark of N patches drawn from the synthetic prior
(``fmbench.synthetic.sample_patch``, seed 0; captions are placeholders: the metrics here
do not read them), then runs ``fmbench run`` on it in a child process with an empty
cache, and reads the child's peak resident memory from the kernel (``wait4``: the run's
largest process) and samples the summed resident memory of its whole process tree (worker
processes included, Dask's too; needs psutil) every 0.25 s. The first size is the reference: every later size is printed as a ratio against it, next to
the goals (peak at 10× the items ≤ 1.5× the reference; any size within 4 GB).

With ``--prefix-check K`` the script also runs the first K items of the largest
benchmark on its own and checks that the per-item values of every metric over those
items are identical in both runs (a streamed run computes the same numbers).

    python benchmarks/perf/run_memory.py [--sizes 100,1000,10000] [--workers 1]
        [--generator oracle] [--metrics ...] [--executor local|dask] [--prefix-check 200]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fmbench.dataset import DatasetRow, write_captions, write_dataset
from fmbench.synthetic import sample_patch

#: weight-free metrics that hold per-item state of every kind: scalars, RMS envelopes
#: (rms), embeddings (fad/kad/kl over mfcc). timbral-fast is left out by default only for
#: the time it takes at 10,000 items (pass it with --metrics).
METRICS = "parse_rate,validity_rate,dx7_dist,rms,fad:mfcc,kad:mfcc,kl:mfcc"
GOAL_RATIO_AT_10X = 1.5
GOAL_PEAK_MB = 4096.0


def write_benchmark(folder: Path, n: int) -> Path:
    """A benchmark definition of ``n`` prior patches (test split only) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        patch, family = sample_patch(0, i)
        rows.append(
            DatasetRow(id=str(i), wav_path=f"perf/{i}.wav", patch_data=patch.to_dict(), name=family)
        )
    write_dataset(folder / "test.csv", rows)
    write_captions(folder / "captions.csv", {str(i): f"perf item {i}" for i in range(n)})
    toml = folder / "bench.toml"
    toml.write_text(
        f'name = "perf-{n}"\nversion = "1"\ndescription = "{n} prior patches (run_memory.py)"\n'
        'renderer = "dx7"\n'
        '[data]\ntest = "test.csv"\ncaptions = "captions.csv"\n'
    )
    return toml


def _tree_rss_mb(pid: int) -> float:
    """Summed resident memory (MB) of process ``pid`` and all its descendants (0 when
    psutil is missing or the process is gone)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """Run ``fmbench run ARGS``: (wall seconds, peak RSS in MB of the run's largest
    process as the kernel reports it, peak of the summed RSS of the whole process tree —
    worker processes included — sampled every 0.25 s, rc)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "fmbench", "run", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    tree_peak = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
        time.sleep(0.25)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024.0, tree_peak, proc.returncode


def per_item_values(run_dir: Path, ids: set[str]) -> dict[str, list[str]]:
    """samples.csv rows of ``ids`` (every column but timings), keyed by item id."""
    with open(run_dir / "samples.csv", newline="", encoding="utf-8") as f:
        return {row["id"]: list(row.values()) for row in csv.DictReader(f) if row["id"] in ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="item counts, smallest first")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--generator", default="oracle")
    parser.add_argument("--metrics", default=METRICS)
    parser.add_argument("--executor", default="local", help="local, dask or dask:ADDRESS")
    parser.add_argument("--prefix-check", type=int, default=0, metavar="K")
    parser.add_argument("--keep", type=Path, help="keep the benchmarks and runs in this folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp_ctx = tempfile.TemporaryDirectory() if args.keep is None else None
    root = Path(tmp_ctx.name) if tmp_ctx is not None else args.keep
    load = os.getloadavg()[0]
    print(
        f"fmbench run -g {args.generator} --metrics {args.metrics} -j {args.workers} "
        f"--executor {args.executor}; {os.cpu_count()} CPUs, load {load:.1f} at start"
    )
    print(
        f"{'items':>7} {'peak MB':>9} {'× ref':>7} {'tree MB':>9} {'s/item':>8} {'× ref':>7}"
        "  wall s"
    )
    reference: tuple[float, float] | None = None
    largest: tuple[Path, Path] | None = None
    try:
        for n in sizes:
            toml = write_benchmark(root / f"bench-{n}", n)
            run_dir = root / f"run-{n}"
            env = dict(os.environ, FMBENCH_CACHE=str(root / f"cache-{n}"))
            common = ["--benchmark", str(toml), "-g", args.generator, "--metrics", args.metrics]
            common += ["-j", str(args.workers), "--executor", args.executor, "--quiet"]
            wall, peak, tree, rc = run_child([*common, "--run-dir", str(run_dir)], env)
            if rc != 0:
                sys.exit(f"fmbench run on {n} items exited with {rc}")
            per_item = wall / n
            reference = reference or (peak, per_item)
            print(
                f"{n:>7} {peak:>9.0f} {peak / reference[0]:>7.2f} {tree:>9.0f} "
                f"{per_item:>8.4f} {per_item / reference[1]:>7.2f}  {wall:.1f}"
            )
            largest = (toml, run_dir)
        assert reference is not None and largest is not None
        print(
            f"goals: peak at 10× the items ≤ {GOAL_RATIO_AT_10X}× the reference; "
            f"every peak ≤ {GOAL_PEAK_MB:.0f} MB"
        )
        if args.prefix_check:
            toml, big_run = largest
            k = args.prefix_check
            prefix_dir = root / f"run-prefix-{k}"
            env = dict(os.environ, FMBENCH_CACHE=str(root / "cache-prefix"))
            wall, peak, tree, rc = run_child(
                [
                    "--benchmark",
                    str(toml),
                    "-g",
                    args.generator,
                    "--metrics",
                    args.metrics,
                    "-j",
                    "1",
                    "--limit",
                    str(k),
                    "--run-dir",
                    str(prefix_dir),
                    "--quiet",
                ],  # fmt: skip
                env,
            )
            if rc != 0:
                sys.exit(f"the {k}-item prefix run exited with {rc}")
            ids = {str(i) for i in range(k)}
            same = per_item_values(big_run, ids) == per_item_values(prefix_dir, ids)
            print(
                f"prefix check: the first {k} items' per-item values "
                f"{'are identical' if same else 'DIFFER'} in the {largest[0].parent.name} run "
                f"({args.executor}, {args.workers} workers) and a local 1-worker run"
            )
            if not same:
                sys.exit(1)
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()


if __name__ == "__main__":
    main()
