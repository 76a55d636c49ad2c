"""GRPO reward throughput: a group of completions → parse → render → rewards.

Usage: python benchmarks/perf/reward_speed.py [--group 64] [--groups 2] [--workers 2]

Completions are replies holding real DX7 voices (the shared banks under
``../shared/data/dx7``), scored against one ground-truth voice per group, as trl calls
reward functions: ``dx7_dist`` (in the calling process), ``metric:rms`` and
``metric:timbral-fast`` (rendering and scoring in a :class:`fmbench.rewards.RewardPool`).
All caches are off (``FMBENCH_CACHE=off``, so the metrics' own feature caches too), and
every measured group holds new, distinct voices, so each group renders and analyses
everything (the two metric rewards of one group share renders in the
workers' memo, as in training).

Prints (1) the share of CPU time per stage, measured in this process on one group;
(2) pool throughput in completions/s for dx7_dist+rms and for dx7_dist+rms+timbral-fast:
wall-clock, and CPU-bound (the group's CPU seconds, parent + workers, over the worker
count: what that many idle cores would reach). Machine load is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data" / "dx7"


def _voices(n: int) -> list:
    from fmbench.patch.syx import read_syx

    out, seen = [], set()
    for path in sorted(DATA.rglob("*.syx")):
        for voice in read_syx(path):
            patch = voice.to_patch()
            if patch.content_hash not in seen:  # banks repeat voices: keep distinct ones
                seen.add(patch.content_hash)
                out.append(patch)
            if len(out) >= n:
                return out
    raise SystemExit(f"only {len(out)} voices under {DATA}")


def _reply(patch) -> str:
    return "<think>\n\n</think>\n\n```json\n" + json.dumps(patch.to_dict(), indent=2) + "\n```"


def _cpu_of(pids: set[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = time.process_time()
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stage_shares(group, answer) -> None:
    """CPU seconds per stage on one group, in this process (one BLAS thread, as in the
    pool's workers; compiled code loaded first)."""
    from fmbench.cache import Cache
    from fmbench.contracts import Sample
    from fmbench.patch.model import Patch
    from fmbench.patch.validate import validate
    from fmbench.plugins import get_registry
    from fmbench.render import RenderSettings
    from fmbench.rewards import dx7_dist, load_answer, parse_completion

    reg = get_registry()
    renderer, settings = reg.create("renderer", "dx7"), RenderSettings()
    rms = reg.create("metric", "rms")
    timbral = reg.create("metric", "timbral-fast", cache=Cache(None))
    times: dict[str, float] = {}
    for component in (renderer, rms, timbral):  # JIT compile/load outside the figures
        prepare = getattr(component, "prepare", None)
        if prepare is not None:
            prepare()

    def timed(name, fn):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # as in the pool's workers
            t = time.process_time()
            out = fn()
            times[name] = time.process_time() - t
        return out

    preds = timed("parse", lambda: [parse_completion(c) for c in group])
    timed("dx7_dist", lambda: dx7_dist(None, group, answer=[answer] * len(group)))
    gt = Patch.from_dict(load_answer(answer))
    valid = [Patch.from_dict(p) for p in preds if p is not None and not validate(p)]
    audio = timed("render", lambda: [renderer.render(p, settings) for p in [*valid, gt]])
    samples = [
        Sample(str(i), "", patch=p, audio=a, reference_patch=gt, reference_audio=audio[-1])
        for i, (p, a) in enumerate(zip(valid, audio, strict=False))
    ]
    timed("rms", lambda: rms.score(samples))
    timed("timbral-fast", lambda: timbral.score(samples))
    total = sum(times.values())
    print(f"stages, one group of {len(group)} ({len(valid)} valid), CPU s in this process:")
    for k, v in times.items():
        print(
            f"  {k:13s} {v:7.3f} s  {100 * v / total:5.1f} %  ({1e3 * v / len(group):6.1f} ms/completion)"
        )


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", type=int, default=64)
    parser.add_argument("--groups", type=int, default=2, help="measured groups per setting")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["FMBENCH_CACHE"] = "off"  # before any Cache() is made, here or in the workers
    from fmbench.cache import Cache
    from fmbench.rewards import RewardPool, dx7_dist, metric_reward

    n_groups = 1 + 2 * args.groups
    voices = _voices(n_groups * (args.group + 1))
    groups = []
    for g in range(n_groups):
        chunk = voices[g * (args.group + 1) : (g + 1) * (args.group + 1)]
        groups.append(([_reply(p) for p in chunk[1:]], json.dumps(chunk[0].to_dict())))
    print(f"load average at start: {os.getloadavg()}")
    stage_shares(*groups[0])

    t = time.perf_counter()
    pool = RewardPool(args.workers)
    print(f"pool of {args.workers} started in {time.perf_counter() - t:.2f} s (once)")
    rms = metric_reward("rms", cache=Cache(None), pool=pool)
    timbral = metric_reward("timbral-fast", cache=Cache(None), pool=pool)
    settings = {
        "dx7_dist+rms": (dx7_dist, rms),
        "dx7_dist+rms+timbral-fast": (dx7_dist, rms, timbral),
    }
    # warm-up: every worker imports, compiles and builds its metrics once
    for fn in settings["dx7_dist+rms+timbral-fast"]:
        fn(None, groups[0][0], answer=[groups[0][1]] * args.group)
    pids = pool.pids
    for s, (label, fns) in enumerate(settings.items()):
        wall = cpu = 0.0
        for completions, answer in groups[1 + s * args.groups : 1 + (s + 1) * args.groups]:
            c0, w0 = _cpu_of(pids), time.perf_counter()
            for fn in fns:
                fn(None, completions, answer=[answer] * len(completions))
            wall += time.perf_counter() - w0
            cpu += _cpu_of(pids) - c0
            assert pool.last_pids <= pids, "a reward call ran outside the pool's workers"
        n = args.group * args.groups
        print(
            f"{label:26s} {n / wall:6.1f} completions/s wall, "
            f"{n / (cpu / args.workers):6.1f} completions/s CPU-bound ({cpu / n * 1e3:.1f} ms CPU each)"
        )
    pool.close()
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
