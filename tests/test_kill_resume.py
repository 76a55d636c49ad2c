"""`kill -9` in the middle of `fmbench run`, then `--resume`: nothing finished is redone,
nothing is corrupt, and the numbers equal an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fmbench.run.rundir import RunDir
from fmbench.run.summary import load_summary

METRICS = "parse_rate,validity_rate,dx7_dist,rms,fad:mfcc,kl:mfcc"


def _cmd(run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fmbench",
        "run",
        "--benchmark",
        "smoke",
        "--generator",
        "prior",
        "--metrics",
        METRICS,
        "--run-dir",
        str(run_dir),
        "--n-boot",
        "200",
        "--quiet",
        *extra,
    ]


def _env(cache: Path) -> dict[str, str]:
    return dict(os.environ, FMBENCH_CACHE=str(cache), PYTHONUNBUFFERED="1")


def _metrics(run_dir: Path) -> dict:
    return load_summary(run_dir).to_dict()["metrics"]


def _processes_naming(path: Path) -> list[int]:
    """Live processes whose command line names ``path`` (Linux /proc; else none)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(path).encode() in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path):
    # the uninterrupted reference, with its own cache
    ref_dir = tmp_path / "ref"
    subprocess.run(_cmd(ref_dir), env=_env(tmp_path / "cache-ref"), check=True, timeout=600)

    run_dir = tmp_path / "killed"
    cache = tmp_path / "cache"
    proc = subprocess.Popen(_cmd(run_dir), env=_env(cache))
    # wait until rendering has produced some (but not all) cache entries, then kill -9
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        renders = list((cache / "render").glob("*/*.arr")) if (cache / "render").exists() else []
        if len(renders) >= 3:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed (machine too fast)")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # its worker processes die with it (none is left holding the run directory)
    deadline = time.time() + 20
    while _processes_naming(run_dir) and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_naming(run_dir), "orphaned workers outlived the killed run"
    assert not RunDir(run_dir).is_complete()
    done_before = {p: p.stat().st_mtime_ns for p in (cache / "render").glob("*/*.arr")}
    generated = (run_dir / "generations.jsonl").read_text()

    subprocess.run(_cmd(run_dir, "--resume"), env=_env(cache), check=True, timeout=600)
    store = RunDir(run_dir)
    assert store.is_complete(), store.problems()
    # nothing finished was recomputed: earlier renders and generations are untouched
    assert {p: p.stat().st_mtime_ns for p in done_before} == done_before
    assert (run_dir / "generations.jsonl").read_text().startswith(generated)
    assert json.dumps(_metrics(run_dir), sort_keys=True) == json.dumps(
        _metrics(ref_dir), sort_keys=True
    )
    rows = store.read_samples()
    assert len(rows) == 10 and len({r["id"] for r in rows}) == 10
