"""``fmbench report``: a static, self-contained HTML site for one or more runs.

The site opens from disk (``file://``) with no server and no network: pages, the
vendored stylesheet and script, MP3 clips and spectrogram PNGs all lie in the output
folder and refer to each other by relative paths. See ``docs/report.md``.

Layout of the output folder::

    index.html          runs, identities, accounting, timings, metric values with CIs,
                        paired differences between runs, the sortable/filterable item table
    items/<name>.html   one page per item: players, A/B switch, spectrograms, RMS envelopes,
                        patch against reference, metric values, why a failed item failed
    media/<hash>.mp3    each distinct clip once (named by its audio content hash)
    media/<hash>.png    its spectrogram (one fixed scale for every clip)
    assets/             report.css, report.js (vendored; no CDN)
    report.json         what the report holds (runs, items, files) for scripts
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.cache import Cache
from fmbench.report import encode, figures
from fmbench.report.html import ASSETS, asset_text, esc, fmt, is_num, num_attr, page
from fmbench.report.sources import ReportError, RunAudio, safe_name
from fmbench.run.rundir import BOOL_COLUMNS, JSON_COLUMNS, NOTE_PREFIX, TEXT_COLUMNS, RunDir
from fmbench.run.summary import RunSummary

#: marks a folder as a report (an existing folder without it is never overwritten)
REPORT_JSON = "report.json"
MEDIA_DIR = "media"
ITEMS_DIR = "items"
#: the longest raw reply shown on an item page (characters)
MAX_REPLY_CHARS = 20_000
_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NON_METRIC = TEXT_COLUMNS | BOOL_COLUMNS | JSON_COLUMNS | {"direct_audio"}


# --------------------------------------------------------------------------------------
# the data of a report


@dataclass
class Clip:
    """One distinct audio clip of the report and its encoded files."""

    key: str  # audio content hash
    seconds: float
    mp3: str = ""  # path relative to the report root
    png: str = ""
    envelope: list[float] = field(default_factory=list)


@dataclass
class ItemClips:
    """Which clips an item has in one run (audio content hashes) and why one is missing."""

    generated: str | None = None
    reference: str | None = None
    generated_note: str = ""
    reference_note: str = ""
    reference_patch: Any = None


@dataclass
class ReportRun:
    """One run in the report (its audio is streamed through :func:`_write_media`, never
    held whole in memory)."""

    label: str
    path: Path
    summary: RunSummary
    rows: dict[str, dict[str, Any]]
    source: RunAudio
    problems: list[str]
    own_reference: bool = True
    items: dict[str, ItemClips] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """What the audio source noticed (renderer or benchmark mismatches), once each."""
        return list(dict.fromkeys(self.source.notes))


def metric_columns(runs: Sequence[ReportRun]) -> list[str]:
    """Per-item metric columns present in any run's samples table (first-seen order)."""
    cols: list[str] = []
    for run in runs:
        for row in run.rows.values():
            for k, v in row.items():
                if k in _NON_METRIC or k.startswith(NOTE_PREFIX) or k in cols:
                    continue
                if isinstance(v, float):
                    cols.append(k)
            break
    return cols


def direction_of(runs: Sequence[ReportRun], column: str) -> str:
    """``higher``/``lower`` from the first summary that knows the column, else ``""``."""
    for run in runs:
        m = run.summary.metrics.get(column)
        if m is not None:
            return m.direction
    return ""


def item_status(row: dict[str, Any] | None) -> tuple[str, str]:
    """``(css class, short text)`` of an item's outcome in one run."""
    if row is None:
        return "missing", "not in run"
    if row.get("direct_audio") in (True, 1.0, "True"):  # an extra column: may read as text
        return "ok", "audio"
    if not row.get("parsed_ok"):
        return "fail", "unparsed"
    if not row.get("valid") and not row.get("repaired"):
        return "fail", "invalid"
    if not row.get("rendered"):
        return "fail", "not rendered"
    if row.get("inaudible"):
        return "warn", "inaudible"
    return ("warn", "repaired") if row.get("repaired") else ("ok", "ok")


# --------------------------------------------------------------------------------------
# media (encoded in worker processes)


#: bump when the encoded media change (format, quality, picture scale): part of the
#: media cache key, so stale entries are never reused
MEDIA_VERSION = "1"
MEDIA_NAMESPACE = "report-media"


def _media_key(audio_hash: str) -> str:
    from fmbench.cache import make_key

    settings = {
        "mp3": [encode.MP3_RATE, encode.MP3_QUALITY],
        "spec": [figures.DB_FLOOR, figures.F_MIN, figures.F_MAX, figures.SPEC_HEIGHT],
        "px": [figures.PIXELS_PER_SECOND, figures.N_FFT],
    }
    return make_key(audio_hash, "report-media", MEDIA_VERSION, settings)


def _pack(mp3: bytes, png: bytes, env: list[float]) -> np.ndarray:
    head = np.array([len(mp3), len(png)], dtype="<u8").tobytes()
    body = head + mp3 + png + np.asarray(env, dtype="<f4").tobytes()
    return np.frombuffer(body, dtype=np.uint8)


def _unpack(packed: np.ndarray) -> tuple[bytes, bytes, list[float]]:
    data = packed.tobytes()
    n_mp3, n_png = (int(v) for v in np.frombuffer(data[:16], dtype="<u8"))
    mp3, png = data[16 : 16 + n_mp3], data[16 + n_mp3 : 16 + n_mp3 + n_png]
    env = np.frombuffer(data[16 + n_mp3 + n_png :], dtype="<f4")
    if len(mp3) != n_mp3 or len(png) != n_png:
        raise ValueError("truncated media cache entry")
    return mp3, png, [round(float(v), 1) for v in env]


def _media_job(job: tuple[str, np.ndarray, int]) -> tuple[str, bytes, bytes, list[float]]:
    key, samples, rate = job
    audio = Audio(samples, rate)  # int16 arrives scaled back to float by Audio
    mp3 = encode.encode_mp3(audio)
    png = figures.spectrogram_png(audio.samples, rate)
    env = figures.rms_envelope(audio.samples, rate)
    return key, mp3, png, [round(float(v), 1) for v in env]


def _compact(audio: Audio) -> np.ndarray:
    """int16 when the audio lies exactly on the int16 grid (half the bytes to ship)."""
    q = audio.to_int16()
    if np.array_equal(q.astype(np.float32) / 32768.0, audio.samples):
        return q
    return audio.samples


# --------------------------------------------------------------------------------------
# building


def _load_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    cache: Cache | None,
    workers: int,
    benchmark: Any,
    log: Callable[[str], None],
) -> list[ReportRun]:
    if not run_dirs:
        raise ReportError("give at least one run directory (see docs/report.md)")
    if len(run_dirs) > len(_LABELS):
        raise ReportError(f"a report holds at most {len(_LABELS)} runs")
    runs: list[ReportRun] = []
    seen: dict[str, Path] = {}
    for i, rd in enumerate(run_dirs):
        path = Path(rd)
        if path.is_file():
            raise ReportError(
                f"{path} is a file; a report needs the run directory (with samples.csv), "
                f"not only its summary"
            )
        if not path.is_dir():
            raise ReportError(f"{path}: no such run directory")
        source = RunAudio(path, cache=cache, workers=workers, benchmark=benchmark)
        s = source.summary
        if s.run_id in seen:
            raise ReportError(f"{path} and {seen[s.run_id]} are the same run ({s.run_id})")
        seen[s.run_id] = path
        if runs and s.benchmark.identity != runs[0].summary.benchmark.identity:
            raise ReportError(
                f"{path} ran benchmark {s.benchmark.identity} but {runs[0].path} ran "
                f"{runs[0].summary.benchmark.identity}: a report compares runs of one benchmark"
            )
        log(f"{_LABELS[i]}: {path} ({len(source.rows)} items, {s.generator.name})")
        runs.append(
            ReportRun(
                label=_LABELS[i],
                path=path,
                summary=s,
                rows={r["id"]: r for r in source.rows},
                source=source,
                problems=RunDir(path).problems(),
                own_reference=not runs or _needs_own_reference(runs[0], s),
            )
        )
    return runs


def _needs_own_reference(first: ReportRun, s: RunSummary) -> bool:
    """A later run needs its own reference renders only if it rendered differently."""
    a = first.summary
    return (a.renderer.identity, a.renderer.options) != (s.renderer.identity, s.renderer.options)


def build_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    workers: int = 1,
    cache: Cache | None = None,
    benchmark: Any = None,
    title: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the report site of ``run_dirs`` (one benchmark) into ``out_dir``.

    The folder is built beside ``out_dir`` and swapped in when complete; an existing
    ``out_dir`` is replaced only if it is empty or an earlier report. Returns the path
    of ``index.html``.
    """
    log = log or (lambda message: None)
    t0 = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / REPORT_JSON).is_file())
    ):
        raise ReportError(f"{out} exists and is not an fmbench report; choose another -o folder")
    runs = _load_runs(run_dirs, cache=cache, workers=workers, benchmark=benchmark, log=log)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        media_cache = cache if cache is not None else Cache()
        clips = _write_media(runs, tmp, workers=workers, cache=media_cache, log=log)
        ids = _item_ids(runs)
        names = {i: safe_name(i) for i in ids}
        (tmp / ITEMS_DIR).mkdir()
        (tmp / "assets").mkdir()
        for name in ASSETS:
            (tmp / "assets" / name).write_text(asset_text(name), encoding="utf-8")
        cols = metric_columns(runs)
        for k, item_id in enumerate(ids):
            prev_id = ids[k - 1] if k > 0 else None
            next_id = ids[k + 1] if k + 1 < len(ids) else None
            html_text = _item_page(runs, item_id, cols, clips, names, prev_id, next_id)
            (tmp / ITEMS_DIR / f"{names[item_id]}.html").write_text(html_text, encoding="utf-8")
        comparisons = _comparisons(runs)
        (tmp / "index.html").write_text(
            _index_page(runs, ids, cols, names, comparisons, title), encoding="utf-8"
        )
        doc = {
            "runs": [
                {"label": r.label, "run_id": r.summary.run_id, "path": str(r.path)} for r in runs
            ],
            "benchmark": runs[0].summary.benchmark.identity,
            "items": {i: f"{ITEMS_DIR}/{names[i]}.html" for i in ids},
            "audio_format": encode.MIME,
            "clips": len(clips),
        }
        (tmp / REPORT_JSON).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private; a site is meant to be read
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"report written in {time.perf_counter() - t0:.1f} s: {out / 'index.html'}")
    return out / "index.html"


def _item_ids(runs: Sequence[ReportRun]) -> list[str]:
    ids = list(runs[0].rows)
    seen = set(ids)
    for r in runs[1:]:
        for i in r.rows:
            if i not in seen:
                seen.add(i)
                ids.append(i)
    return ids


#: items whose audio is loaded at a time (memory stays bounded for any run size)
CHUNK_ITEMS = 16


def _write_media(
    runs: Sequence[ReportRun],
    root: Path,
    *,
    workers: int,
    cache: Cache,
    log: Callable[[str], None],
) -> dict[str, Clip]:
    """Encode every distinct clip once (MP3 + spectrogram + envelope) into ``media/``.

    Audio is loaded :data:`CHUNK_ITEMS` items at a time and dropped once queued; encoded
    media are kept in the cache (namespace ``report-media``, keyed by the audio's content
    hash and the encoding settings), so a clip already encoded for any earlier report —
    a benchmark's reference renders, say — is not encoded again.
    """
    from fmbench.executor import LocalExecutor

    (root / MEDIA_DIR).mkdir()
    (root / MEDIA_DIR / "colorbar.png").write_bytes(figures.colorbar_png())
    clips: dict[str, Clip] = {}
    seconds: dict[str, float] = {}
    stats = {"cached": 0, "encoded": 0}

    def store(key: str, mp3: bytes, png: bytes, env: list[float]) -> None:
        stem = key[:20]
        clip = Clip(key, seconds[key], envelope=env)
        clip.mp3 = f"{MEDIA_DIR}/{stem}.{encode.EXTENSION}"
        clip.png = f"{MEDIA_DIR}/{stem}.png"
        (root / clip.mp3).write_bytes(mp3)
        (root / clip.png).write_bytes(png)
        clips[key] = clip

    def jobs():
        for run in runs:
            ids = list(run.rows)
            for start in range(0, len(ids), CHUNK_ITEMS):
                chunk = ids[start : start + CHUNK_ITEMS]
                for it in run.source.load(chunk, reference=run.own_reference):
                    entry = ItemClips(
                        generated_note=it.generated_note,
                        reference_note=it.reference_note,
                        reference_patch=it.reference_patch,
                    )
                    run.items[it.id] = entry
                    for attr in ("generated", "reference"):
                        audio = getattr(it, attr)
                        if audio is None:
                            continue
                        key = audio.content_hash
                        setattr(entry, attr, key)
                        if key in seconds:
                            continue
                        seconds[key] = audio.duration
                        packed = cache.get(MEDIA_NAMESPACE, _media_key(key))
                        if packed is not None:
                            try:
                                store(key, *_unpack(packed))
                                stats["cached"] += 1
                                continue
                            except ValueError:
                                pass  # a damaged entry: encode again
                        yield key, _compact(audio), audio.sample_rate

    log(f"encoding clips ({encode.MIME}, {workers} worker{'s' if workers > 1 else ''})")
    ex = LocalExecutor(max(1, workers))
    try:
        for key, mp3, png, env in ex.map(_media_job, jobs(), chunksize=2):
            cache.put(MEDIA_NAMESPACE, _media_key(key), _pack(mp3, png, env))
            store(key, mp3, png, env)
            stats["encoded"] += 1
    finally:
        ex.close()
    log(
        f"{len(clips)} distinct clips: {stats['encoded']} encoded, {stats['cached']} from the cache"
    )
    return clips


def _comparisons(runs: Sequence[ReportRun]) -> list[tuple[ReportRun, Any, str]]:
    """``compare_runs(A, X)`` for every later run X (or why it could not be computed)."""
    from fmbench.compare import compare_runs
    from fmbench.errors import FmbenchError

    out = []
    for r in runs[1:]:
        try:
            out.append((r, compare_runs(runs[0].path, r.path), ""))
        except FmbenchError as exc:
            out.append((r, None, str(exc)))
    return out


# --------------------------------------------------------------------------------------
# pages: shared pieces


def _run_badge(run: ReportRun) -> str:
    return f'<span class="run run-{run.label}">{esc(run.label)}</span>'


def _status_badge(row: dict[str, Any] | None) -> str:
    css, text = item_status(row)
    return f'<span class="status {css}">{esc(text)}</span>'


def _nav(root: str, crumbs: str = "") -> str:
    return f'<nav class="top"><a href="{root}index.html">fmbench report</a>{crumbs}</nav>'


def _metric_head(column: str, direction: str) -> str:
    from fmbench.components import Direction

    known = direction in {d.value for d in Direction}
    return f"{esc(column)} {Direction(direction).arrow}" if known else esc(column)


# --------------------------------------------------------------------------------------
# index page


def _identity_table(runs: Sequence[ReportRun]) -> str:
    rows = [
        ("run id", [r.summary.run_id for r in runs]),
        ("directory", [str(r.path) for r in runs]),
        ("created", [r.summary.created for r in runs]),
        ("benchmark", [r.summary.benchmark.identity for r in runs]),
        ("generator", [r.summary.generator.name for r in runs]),
        ("generator identity", [r.summary.generator.identity for r in runs]),
        (
            "generator options",
            [json.dumps(r.summary.generator.options, sort_keys=True) for r in runs],
        ),
        ("renderer", [r.summary.renderer.identity for r in runs]),
        (
            "render settings",
            [json.dumps(r.summary.renderer.options, sort_keys=True) for r in runs],
        ),
        ("failure policy", [r.summary.failure_policy for r in runs]),
        ("seed", [str(r.summary.seed) for r in runs]),
        (
            "fmbench",
            [f"{r.summary.fmbench_version} ({r.summary.git_sha or 'no git'})" for r in runs],
        ),
    ]
    head = "".join(f"<th>{_run_badge(r)}</th>" for r in runs)
    body = []
    for name, values in rows:
        differ = len(set(values)) > 1 and name not in ("run id", "directory", "created")
        cells = "".join(f'<td class="{"diff" if differ else ""}">{esc(v)}</td>' for v in values)
        body.append(f"<tr><th>{esc(name)}</th>{cells}</tr>")
    # metric identities
    names = sorted({k for r in runs for k in r.summary.metrics})
    for name in names:
        values = [
            r.summary.metrics[name].metric_identity if name in r.summary.metrics else "–"
            for r in runs
        ]
        differ = len(set(values)) > 1
        cells = "".join(f'<td class="{"diff" if differ else ""}">{esc(v)}</td>' for v in values)
        body.append(f"<tr><th>metric {esc(name)}</th>{cells}</tr>")
    return (
        '<table class="ident"><thead><tr><th></th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _accounting_table(runs: Sequence[ReportRun]) -> str:
    fields = [
        ("items", "n_items"),
        ("generated", "n_generated"),
        ("parsed", "n_parsed"),
        ("valid", "n_valid"),
        ("repaired", "n_repaired"),
        ("rendered", "n_rendered"),
        ("inaudible", "n_inaudible"),
    ]
    head = "".join(f"<th>{esc(label)}</th>" for label, _ in fields)
    body = []
    for r in runs:
        acc = r.summary.accounting
        n = acc.n_items or 1
        cells = []
        for _, key in fields:
            v = getattr(acc, key)
            share = "" if key == "n_items" else f' <span class="dim">{v / n:.0%}</span>'
            cells.append(f"<td>{v}{share}</td>")
        body.append(
            f"<tr><th>{_run_badge(r)} {esc(r.summary.generator.name)}</th>{''.join(cells)}</tr>"
        )
    return f'<table class="acc"><thead><tr><th>run</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _timings_table(runs: Sequence[ReportRun]) -> str:
    keys: list[str] = []
    for r in runs:
        for k, v in r.summary.timings.items():
            if k not in keys and is_num(v):
                keys.append(k)
    if not keys:
        return "<p class=dim>No timings recorded.</p>"
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    body = []
    for r in runs:
        cells = "".join(f"<td>{fmt(r.summary.timings.get(k), 3)}</td>" for k in keys)
        body.append(f"<tr><th>{_run_badge(r)}</th>{cells}</tr>")
    per_metric = []
    for r in runs:
        by = r.summary.timings.get("score_s_by_metric")
        if isinstance(by, dict) and by:
            parts = ", ".join(f"{esc(k)} {fmt(v, 3)} s" for k, v in by.items())
            per_metric.append(f"<li>{_run_badge(r)} scoring by metric: {parts}</li>")
    extra = f"<ul class=plain>{''.join(per_metric)}</ul>" if per_metric else ""
    return (
        f'<table class="timings"><thead><tr><th>run</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{extra}"
    )


def _ci_text(low: float, high: float) -> str:
    if is_num(low) and is_num(high):
        return f"[{fmt(low)}, {fmt(high)}]"
    return ""


def _metrics_table(runs: Sequence[ReportRun]) -> str:
    names: list[str] = []
    for r in runs:
        for k in r.summary.metrics:
            if k not in names:
                names.append(k)
    head = "".join(f"<th>{_run_badge(r)}</th>" for r in runs)
    body = []
    for name in names:
        m0 = next(r.summary.metrics[name] for r in runs if name in r.summary.metrics)
        values = [
            r.summary.metrics[name].value if name in r.summary.metrics else math.nan for r in runs
        ]
        finite = [v for v in values if is_num(v)]
        best = (max(finite) if m0.direction == "higher" else min(finite)) if finite else None
        cells = []
        for r in runs:
            m = r.summary.metrics.get(name)
            if m is None:
                cells.append("<td>–</td>")
                continue
            cls = "best" if len(runs) > 1 and best is not None and m.value == best else ""
            vo = m.valid_only
            vo_text = f'<div class="dim">valid only {fmt(vo.value)} (n={vo.n})</div>' if vo else ""
            nan = f", {m.n_nan} NaN" if m.n_nan else ""
            cells.append(
                f'<td class="{cls}"><b>{fmt(m.value)}</b> <span class="ci">'
                f"{_ci_text(m.ci_low, m.ci_high)}</span>"
                f'<div class="dim">{esc(m.ci_method)} · n={m.n}{nan}</div>{vo_text}</td>'
            )
        body.append(
            f'<tr><th title="{esc(m0.metric_identity)} ({esc(m0.kind)})">'
            f"{_metric_head(name, m0.direction)}</th>{''.join(cells)}</tr>"
        )
    errors = []
    for r in runs:
        for name, err in r.summary.errors.items():
            errors.append(f"<li>{_run_badge(r)} <b>{esc(name)}</b> failed: {esc(err)}</li>")
    err_html = f'<ul class="errors">{"".join(errors)}</ul>' if errors else ""
    return (
        f'<table class="metrics"><thead><tr><th>metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{err_html}"
    )


def _comparison_section(comparisons: list[tuple[ReportRun, Any, str]], first: ReportRun) -> str:
    if not comparisons:
        return ""
    parts = [
        '<section id="paired"><h2>Paired differences</h2>'
        f"<p>Each later run against {_run_badge(first)}, items paired by id "
        "(<code>fmbench compare</code>: bootstrap test of the mean per-item difference "
        "A − X, 95% CI).</p>"
    ]
    for run, cmp, error in comparisons:
        parts.append(
            f"<h3>{_run_badge(first)} vs {_run_badge(run)} {esc(run.summary.generator.name)}</h3>"
        )
        if cmp is None:
            parts.append(f'<p class="warn">Not compared: {esc(error)}</p>')
            continue
        rows = []
        for m in cmp.metrics:
            t = m.test
            verdict = m.verdict.replace("B better", f"{run.label} better")
            cls = "good" if m.verdict == "A better" else "bad" if m.verdict == "B better" else ""
            rows.append(
                f"<tr><th>{_metric_head(m.column, m.direction)}</th>"
                f"<td>{fmt(m.value_a)}</td><td>{fmt(m.value_b)}</td>"
                f"<td>{fmt(t.mean_diff) if t else ''}</td>"
                f"<td>{_ci_text(t.ci_low, t.ci_high) if t else ''}</td>"
                f"<td>{fmt(t.p_value, 3) if t else ''}</td><td>{t.n if t else ''}</td>"
                f'<td class="{cls}">{esc(verdict)}</td><td class="dim">{esc(m.note)}</td></tr>'
            )
        unpaired = ""
        if cmp.only_a or cmp.only_b:
            unpaired = (
                f"<p class=warn>{len(cmp.only_a)} items only in A, "
                f"{len(cmp.only_b)} only in {run.label}.</p>"
            )
        parts.append(
            unpaired + '<table class="paired"><thead><tr><th>metric</th>'
            f"<th>A</th><th>{run.label}</th><th>A − {run.label}</th><th>95% CI</th><th>p</th>"
            f"<th>n</th><th>verdict</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    parts.append("</section>")
    return "".join(parts)


def _items_table(
    runs: Sequence[ReportRun], ids: Sequence[str], cols: Sequence[str], names: dict[str, str]
) -> str:
    multi = len(runs) > 1
    heads = [
        '<th data-sort="text">id</th>',
        '<th data-sort="text">caption</th>',
    ]
    heads += [f'<th data-sort="text">status {_run_badge(r)}</th>' for r in runs]
    col_keys: list[tuple[str, str]] = []  # (css key, direction)
    for c in cols:
        d = direction_of(runs, c)
        for r in runs:
            key = f"{c}|{r.label}"
            col_keys.append((key, d))
            label = f"{_metric_head(c, d)} {_run_badge(r) if multi else ''}"
            heads.append(
                f'<th data-sort="num" data-dir="{esc(d)}" data-col="{esc(key)}">{label}</th>'
            )
        for r in runs[1:]:
            key = f"{c}|A-{r.label}"
            col_keys.append((key, d))
            heads.append(
                f'<th data-sort="num" data-dir="{esc(d)}" data-col="{esc(key)}" class="delta" '
                f'title="A − {r.label} per item (positive = A higher)">'
                f"Δ {esc(c)} A−{r.label}</th>"
            )
    body = []
    for item_id in ids:
        first = next((r.rows[item_id] for r in runs if item_id in r.rows), {})
        failed = any(item_status(r.rows.get(item_id))[0] == "fail" for r in runs)
        cells = [
            f'<td><a href="{ITEMS_DIR}/{esc(names[item_id])}.html">{esc(item_id)}</a></td>',
            f'<td class="cap">{esc(first.get("caption", ""))}</td>',
        ]
        cells += [
            f'<td data-v="{esc(item_status(r.rows.get(item_id))[1])}">{_status_badge(r.rows.get(item_id))}</td>'
            for r in runs
        ]
        for c in cols:
            vals = []
            for r in runs:
                v = (r.rows.get(item_id) or {}).get(c)
                vals.append(v)
                cells.append(f'<td data-v="{num_attr(v)}">{fmt(v)}</td>')
            for v in vals[1:]:
                d = vals[0] - v if is_num(vals[0]) and is_num(v) else None
                cells.append(f'<td class="delta" data-v="{num_attr(d)}">{fmt(d)}</td>')
        body.append(f'<tr data-failed="{int(failed)}">{"".join(cells)}</tr>')
    options = "".join(
        f'<option value="{esc(k)}">{esc(k.replace("|", " · "))}</option>' for k, _ in col_keys
    )
    controls = (
        '<div class="controls" id="item-controls">'
        '<label>Search <input id="q" type="search" placeholder="id or caption"></label> '
        '<label>Show <select id="show"><option value="all">all items</option>'
        '<option value="failed">failed in any run</option><option value="ok">ok in every run</option>'
        "</select></label> "
        f'<label>Metric <select id="metric">{options}</select></label> '
        '<label>min <input id="vmin" type="number" step="any" size="6"></label> '
        '<label>max <input id="vmax" type="number" step="any" size="6"></label> '
        '<button type="button" id="best-first">best first</button> '
        '<button type="button" id="worst-first">worst first</button> '
        '<span id="count" class="dim"></span></div>'
    )
    return (
        controls
        + '<div class="scroll"><table id="items" class="items sortable"><thead><tr>'
        + "".join(heads)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _index_page(
    runs: Sequence[ReportRun],
    ids: Sequence[str],
    cols: Sequence[str],
    names: dict[str, str],
    comparisons: list[tuple[ReportRun, Any, str]],
    title: str | None,
) -> str:
    bench = runs[0].summary.benchmark
    title = title or f"fmbench report · {bench.identity} · " + ", ".join(
        r.summary.generator.name for r in runs
    )
    warnings = []
    for r in runs:
        if r.problems:
            warnings.append(
                f"<li>{_run_badge(r)} incomplete run: {esc('; '.join(r.problems))}</li>"
            )
        for note in r.notes:
            warnings.append(f"<li>{_run_badge(r)} {esc(note)}</li>")
    warn_html = f'<ul class="warnings">{"".join(warnings)}</ul>' if warnings else ""
    body = (
        _nav("") + f"<header><h1>{esc(title)}</h1>"
        f"<p>Benchmark <b>{esc(bench.identity)}</b>, {len(ids)} items, "
        f"{len(runs)} run{'s' if len(runs) > 1 else ''}. Audio: {esc(encode.MIME)}. "
        'See <a href="#items-section">the items</a>.</p></header>'
        + warn_html
        + '<section id="runs"><h2>Runs</h2>'
        + _identity_table(runs)
        + "<h3>Accounting</h3>"
        + _accounting_table(runs)
        + "<h3>Timings (seconds)</h3>"
        + _timings_table(runs)
        + "</section>"
        + '<section id="metrics"><h2>Metric values</h2>'
        "<p>Value over all items with its 95% interval (bootstrap for per-item metrics, "
        "jackknife for set-level ones); ↑ higher is better, ↓ lower is better.</p>"
        + _metrics_table(runs)
        + "</section>"
        + _comparison_section(comparisons, runs[0])
        + '<section id="items-section"><h2>Items</h2>'
        "<p>Click a column to sort it best first, again for worst first. "
        "Open an item to listen.</p>" + _items_table(runs, ids, cols, names) + "</section>"
    )
    return page(title, body, page_id="index")


# --------------------------------------------------------------------------------------
# item page

_PARAMS = (
    ("out", "carrier", "carrier: sounds in the output"),
    ("mods", "modulated by", "operators that modulate this one (fb: self-feedback)"),
    ("mode", "mode", "frequency mode: ratio or fixed"),
    ("coarse", "coarse", "coarse frequency"),
    ("fine", "fine", "fine frequency"),
    ("detune", "detune", "detune"),
    ("ol", "level", "output level"),
    *((f"r{k}", f"R{k}", f"envelope rate {k}") for k in range(1, 5)),
    *((f"l{k}", f"L{k}", f"envelope level {k}") for k in range(1, 5)),
    ("sensitivity", "vel", "velocity sensitivity"),
)


def _op_values(patch: Any, number: int) -> dict[str, str]:
    op = patch.operator(number)
    values = {
        "out": "yes" if op.is_carrier else "–",
        "mods": ", ".join(("fb" if m == number else f"OP{m}") for m in op.modulators) or "–",
        "mode": "fixed" if op.fixed_freq else "ratio",
        "coarse": str(op.coarse),
        "fine": str(op.fine),
        "detune": f"{op.detune:+d}" if op.detune else "0",
        "ol": str(op.ol),
        "sensitivity": str(op.sensitivity),
    }
    for k in range(4):
        values[f"r{k + 1}"] = str(op.eg_rate[k])
        values[f"l{k + 1}"] = str(op.eg_level[k])
    return values


def _algorithm_text(patch: Any) -> str:
    n = patch.algorithm
    carriers = ", ".join(f"OP{c}" for c in patch.carriers) or "none"
    if n is None:
        return f"custom topology (not a DX7 algorithm; carriers {carriers})"
    return f"algorithm {n} (carriers {carriers})"


def _cell(gen: str | None, ref: str | None) -> str:
    if gen is None:
        return f'<td class="refonly">{esc(ref)}</td>'
    if ref is None or gen == ref:
        return f"<td>{esc(gen)}</td>"
    return (
        f'<td class="diff" title="generated {esc(gen)}, reference {esc(ref)}">'
        f'<span class="g">{esc(gen)}</span><span class="r">{esc(ref)}</span></td>'
    )


def patch_diff_html(patch: Any, reference: Any) -> str:
    """The generated patch against the reference: globals (algorithm, feedback,
    transpose) and one row per operator; differing values highlighted."""
    if patch is None and reference is None:
        return "<p class=dim>No patch.</p>"
    n_diff = 0
    glob = []
    for label, fn in (
        ("algorithm", _algorithm_text),
        ("feedback", lambda p: str(p.feedback)),
        ("transpose", lambda p: f"{p.transpose:+d}" if p.transpose else "0"),
    ):
        g = fn(patch) if patch is not None else None
        r = fn(reference) if reference is not None else None
        n_diff += g is not None and r is not None and g != r
        glob.append(f"<tr><th>{label}</th>{_cell(g, r)}</tr>")
    head = "".join(f'<th title="{esc(tip)}">{esc(label)}</th>' for _, label, tip in _PARAMS)
    rows = []
    for number in range(1, 7):
        g = _op_values(patch, number) if patch is not None else None
        r = _op_values(reference, number) if reference is not None else None
        cells = []
        for key, _, _ in _PARAMS:
            gv = g[key] if g is not None else None
            rv = r[key] if r is not None else None
            n_diff += gv is not None and rv is not None and gv != rv
            cells.append(_cell(gv, rv))
        rows.append(f"<tr><th>OP{number}</th>{''.join(cells)}</tr>")
    if patch is None:
        legend = "reference patch only (no generated patch)"
    elif reference is None:
        legend = "generated patch (no reference patch)"
    else:
        legend = (
            f'{n_diff} differing values; where they differ: <span class="g">generated</span>'
            f' <span class="r">reference</span>'
        )
    return (
        f'<p class="legend">{legend}</p>'
        f'<table class="patch-globals"><tbody>{"".join(glob)}</tbody></table>'
        f'<div class="scroll"><table class="patch"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _patch_of(row: dict[str, Any] | None) -> Any:
    from fmbench.report.sources import _patch_of as parse

    return parse(row) if row else None


def _failure_html(row: dict[str, Any]) -> str:
    parts = []
    if row.get("parse_error"):
        parts.append(f'<p class="fail-why"><b>Parse problem:</b> {esc(row["parse_error"])}</p>')
    problems = row.get("problems") or []
    if problems:
        items = []
        for p in problems:
            if isinstance(p, dict):
                where = p.get("path") or "<patch>"
                allowed = f" (allowed: {p['allowed']})" if p.get("allowed") else ""
                value = f" — got {p['value']!r}" if p.get("value") is not None else ""
                items.append(
                    f"<li><code>{esc(where)}</code>: {esc(p.get('message'))}{esc(allowed)}{esc(value)}</li>"
                )
            else:
                items.append(f"<li>{esc(p)}</li>")
        parts.append(
            f'<p class="fail-why"><b>Validation problems:</b></p><ul>{"".join(items)}</ul>'
        )
    notes = [(k[len(NOTE_PREFIX) :], v) for k, v in row.items() if k.startswith(NOTE_PREFIX) and v]
    if notes:
        parts.append(
            "<p><b>Notes:</b></p><ul>"
            + "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>" for k, v in notes)
            + "</ul>"
        )
    raw = row.get("raw_output") or ""
    if raw:
        cut = len(raw) > MAX_REPLY_CHARS
        shown = raw[:MAX_REPLY_CHARS] + ("\n… (cut)" if cut else "")
        is_fail = item_status(row)[0] == "fail"
        parts.append(
            f"<details{' open' if is_fail else ''}><summary>Reply text ({len(raw)} characters)"
            f"</summary><pre class=reply>{esc(shown)}</pre></details>"
        )
    else:
        parts.append("<p class=dim>The generator returned no text.</p>")
    return "".join(parts)


def _clip_card(title: str, css: str, clip: Clip | None, note: str, max_seconds: float) -> str:
    if clip is None:
        return (
            f'<div class="clip {css} missing"><h4>{title}</h4>'
            f'<p class="dim">{esc(note or "no audio")}</p></div>'
        )
    width = 100.0 * clip.seconds / max_seconds if max_seconds > 0 else 100.0
    warn = f'<p class="warn">{esc(note)}</p>' if note else ""
    return (
        f'<div class="clip {css}"><h4>{title}</h4>'
        f'<audio controls preload="metadata" src="../{esc(clip.mp3)}" '
        f'data-duration="{clip.seconds:.3f}"></audio>'
        f'<div class="spec"><img src="../{esc(clip.png)}" alt="spectrogram" '
        f'style="width:{width:.2f}%"><div class="fax">{_freq_axis()}</div></div>{warn}</div>'
    )


def _freq_axis() -> str:
    ticks = []
    for f in (100, 1000, 10000):
        frac = math.log(f / figures.F_MIN) / math.log(figures.F_MAX / figures.F_MIN)
        label = f"{f // 1000} kHz" if f >= 1000 else f"{f} Hz"
        ticks.append(f'<span style="bottom:{100 * frac:.1f}%">{label}</span>')
    return "".join(ticks)


def _item_page(
    runs: Sequence[ReportRun],
    item_id: str,
    cols: Sequence[str],
    clips: dict[str, Clip],
    names: dict[str, str],
    prev_id: str | None,
    next_id: str | None,
) -> str:
    rows = {r.label: r.rows.get(item_id) for r in runs}
    caption = next((row.get("caption", "") for row in rows.values() if row), "")
    ref_key: str | None = None
    ref_note = ""
    for r in runs:
        it = r.items.get(item_id)
        if it is not None and it.reference is not None:
            ref_key = it.reference
            break
        if it is not None and it.reference_note:
            ref_note = ref_note or it.reference_note
    ref_clip = clips.get(ref_key) if ref_key is not None else None
    gens: list[tuple[ReportRun, Clip | None, str]] = []
    for r in runs:
        it = r.items.get(item_id)
        key = it.generated if it is not None else None
        note = it.generated_note if it is not None else "not in this run"
        gens.append((r, clips.get(key) if key is not None else None, note))
    all_clips = [c for c in [ref_clip, *(g[1] for g in gens)] if c is not None]
    max_s = max((c.seconds for c in all_clips), default=0.0)

    nav_links = []
    if prev_id is not None:
        nav_links.append(f'<a rel="prev" href="{esc(names[prev_id])}.html">← {esc(prev_id)}</a>')
    nav_links.append('<a href="../index.html#items-section">all items</a>')
    if next_id is not None:
        nav_links.append(f'<a rel="next" href="{esc(names[next_id])}.html">{esc(next_id)} →</a>')
    parts = [
        _nav("../", f" › item {esc(item_id)}"),
        f'<header><h1 class="caption">{esc(caption)}</h1>'
        f"<p>item <code>{esc(item_id)}</code> · "
        + " ".join(f"{_run_badge(r)} {_status_badge(rows[r.label])}" for r in runs)
        + f'</p><p class="pager">{" · ".join(nav_links)}</p></header>',
    ]

    # A/B listening
    sources = []
    if ref_clip is not None:
        sources.append(("ref", "Reference", ref_clip))
    for r, c, _ in gens:
        if c is not None:
            sources.append((r.label, f"{r.label} · {r.summary.generator.name}", c))
    if sources:
        buttons = "".join(
            f'<button type="button" class="ab-btn{" on" if k == 0 else ""}" data-key="{esc(key)}" '
            f'data-src="../{esc(c.mp3)}" aria-pressed="{"true" if k == 0 else "false"}">{esc(label)}</button>'
            for k, (key, label, c) in enumerate(sources)
        )
        parts.append(
            '<section id="ab"><h2>A/B listening</h2>'
            '<p class="dim">Switch sources while playing: the position is kept '
            "(keys 1–9 switch too).</p>"
            f'<div class="ab">{buttons}</div>'
            f'<audio id="ab-player" controls preload="metadata" src="../{esc(sources[0][2].mp3)}" '
            f'data-duration="{sources[0][2].seconds:.3f}"></audio></section>'
        )

    # players + spectrograms
    cards = [_clip_card("Reference", "ref", ref_clip, ref_note, max_s)]
    for r, c, note in gens:
        cards.append(
            _clip_card(
                f"{_run_badge(r)} {esc(r.summary.generator.name)}",
                f"gen gen-{r.label}",
                c,
                note,
                max_s,
            )
        )
    parts.append(
        '<section id="listen"><h2>Audio and spectrograms</h2>'
        f'<p class="dim">Every spectrogram has the same scale: log frequency '
        f"{figures.F_MIN:g} Hz – {figures.F_MAX / 1000:g} kHz, {figures.PIXELS_PER_SECOND} "
        f"pixels per second, level {figures.DB_FLOOR:g} to 0 dBFS "
        f'<img class="cbar" src="../{MEDIA_DIR}/colorbar.png" alt="colour scale">.</p>'
        f'<div class="clips">{"".join(cards)}</div></section>'
    )

    # envelopes
    curves = []
    if ref_clip is not None:
        curves.append(("reference", np.array(ref_clip.envelope), ref_clip.seconds, "ref"))
    for r, c, _ in gens:
        if c is not None:
            curves.append(
                (
                    f"{r.label} {r.summary.generator.name}",
                    np.array(c.envelope),
                    c.seconds,
                    f"gen-{r.label}",
                )
            )
    legend = " ".join(f'<span class="key {css}">{esc(label)}</span>' for label, _, _, css in curves)
    parts.append(
        '<section id="envelopes"><h2>RMS envelopes</h2>'
        f'<p class="dim">Frame RMS in dBFS, overlaid: {legend}</p>'
        + (figures.envelope_svg(curves) if curves else "<p class=dim>No audio.</p>")
        + "</section>"
    )

    # metrics
    head = "".join(f"<th>{_run_badge(r)}</th>" for r in runs)
    head += "".join(f'<th class="delta">A − {r.label}</th>' for r in runs[1:])
    mrows = []
    for c in cols:
        d = direction_of(runs, c)
        vals = [(rows[r.label] or {}).get(c) for r in runs]
        cells = []
        for r, v in zip(runs, vals, strict=True):
            note = (rows[r.label] or {}).get(f"{NOTE_PREFIX}{c}") or ""
            note_html = f'<div class="dim">{esc(note)}</div>' if note else ""
            cells.append(f"<td>{fmt(v)}{note_html}</td>")
        for v in vals[1:]:
            if is_num(vals[0]) and is_num(v):
                diff = vals[0] - v
                better = (diff > 0) == (d == "higher") if diff != 0 and d else None
                cls = "" if better is None else ("good" if better else "bad")
                cells.append(f'<td class="delta {cls}">{fmt(diff)}</td>')
            else:
                cells.append('<td class="delta">–</td>')
        mrows.append(f"<tr><th>{_metric_head(c, d)}</th>{''.join(cells)}</tr>")
    flags = []
    for key in ("parsed_ok", "valid", "repaired", "rendered", "inaudible"):
        cells = "".join(
            f"<td>{'yes' if (rows[r.label] or {}).get(key) else 'no'}</td>" for r in runs
        )
        flags.append(f'<tr class="flag"><th>{key}</th>{cells}{"<td></td>" * (len(runs) - 1)}</tr>')
    parts.append(
        '<section id="item-metrics"><h2>Metric values</h2>'
        + (
            "<p class=dim>A − X: positive when A is higher; green when A is better.</p>"
            if len(runs) > 1
            else ""
        )
        + f'<table class="metrics"><thead><tr><th>metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(mrows)}{''.join(flags)}</tbody></table></section>"
    )

    # patches and failures
    ref_patch = None
    for r in runs:
        ref_patch = _reference_patch(r, item_id)
        if ref_patch is not None:
            break
    for r in runs:
        row = rows[r.label]
        parts.append(
            f'<section class="patch-sec" id="patch-{r.label}"><h2>{_run_badge(r)} '
            f"{esc(r.summary.generator.name)}: patch against reference</h2>"
        )
        if row is None:
            parts.append("<p class=dim>This run has no such item.</p></section>")
            continue
        status = item_status(row)
        if status[0] == "fail":
            parts.append(f'<div class="failure"><h3>Why it failed: {esc(status[1])}</h3>')
            parts.append(_failure_html(row) + "</div>")
        parts.append(patch_diff_html(_patch_of(row), ref_patch))
        if status[0] != "fail":
            parts.append(_failure_html(row))
        parts.append("</section>")
    return page(f"{item_id} · {caption}", "".join(parts), root="../", page_id="item")


def _reference_patch(run: ReportRun, item_id: str) -> Any:
    """The reference patch of an item (from the benchmark of the run's audio source)."""
    it = run.items.get(item_id)
    return it.reference_patch if it is not None else None
