"""The real-voice benchmark: DX7 banks → de-duplicated, clustered, split, captioned data.

:func:`build_corpus_benchmark` turns a folder of DX7 banks (the shared corpus, or any
folder of ``.syx`` files) into the files behind the ``default`` and ``dx7-full``
benchmarks (docs/default-benchmark.md):

1. **Read** every bank (sorted relative paths; :func:`fmbench.patch.syx.read_syx`, out-of-range
   bytes clamped and counted). Every voice keeps its provenance (bank file, 1-based voice
   index, 10-character name) in ``voices.csv.gz``.
2. **De-duplicate by parameters**: voices whose 12-key patch is identical (same content
   hash) are one item, whatever their names; the first occurrence names it.
3. **Cluster near-duplicates**: :func:`patch_distance_matrix` is ``1 − dx7_dist`` (the
   ``dx7_dist`` similarity of docs/metrics.md, weights of
   :data:`fmbench.patch.distance.DEFAULT_KEY_WEIGHTS`); voices closer than ``threshold``
   are linked and clusters are the connected components (single linkage).
4. **Split by cluster**: a cluster is ``test`` iff :func:`fmbench.datagen.hash_fraction` of
   the SHA-256 of ``"cluster:" + its smallest member hash`` is below ``test_fraction``, so no
   test voice has a near-twin in train, and the split of a cluster never depends on the
   order of the banks.
5. **Render and caption** (dx7 renderer, the benchmark's settings): the caption names the
   instrument the voice name states and describes the rest from measurements
   (:func:`fmbench.captioner.caption_voice`); a pluggable ``captioner`` can replace it.

``test.csv.gz`` is ordered so that its first rows come from distinct clusters and have
names that state an instrument: rows are sorted by (rank inside the cluster — named voices
first, then by hash —, unnamed, hash order). The first 100 audible rows are the
``default`` benchmark's 100 items; all of ``test`` is ``dx7-full``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.errors import FmbenchError
from fmbench.patch.model import KEY_ORDER, RANGES, Patch
from fmbench.render import DEFAULT_RENDERER

__all__ = [
    "DEFAULT_THRESHOLD",
    "CorpusVoice",
    "build_corpus_benchmark",
    "cluster_voices",
    "nearest_distances",
    "patch_distance_matrix",
    "read_corpus",
]

#: the near-duplicate threshold on ``1 − dx7_dist`` used for the packaged benchmark
DEFAULT_THRESHOLD = 0.03
#: the share of clusters that go to the test split
DEFAULT_TEST_FRACTION = 0.1
#: folder name at the top of the packaged benchmark's wav paths
COLLECTION = "dx7_corpus"
#: thresholds whose effect the build report lists
REPORT_THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1)


@dataclass(frozen=True)
class CorpusVoice:
    """One voice of one bank: where it comes from and its patch."""

    bank: str  # path relative to the corpus folder, '/'-separated
    index: int  # 1-based voice number in the bank
    name: str  # the 10-character voice name (control characters shown as spaces)
    patch: Patch
    clamped: int = 0  # how many out-of-range values the reader clamped


def _printable(name: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else " " for ch in name)


def read_corpus(folder: str | os.PathLike[str]) -> list[CorpusVoice]:
    """Every voice of every ``*.syx`` under ``folder`` (sorted relative paths), in order."""
    from fmbench.patch.syx import read_syx

    root = Path(folder)
    if not root.is_dir():
        raise FmbenchError(f"{root}: not a folder of DX7 banks")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".syx")
    if not files:
        raise FmbenchError(f"{root}: no .syx files found")
    out: list[CorpusVoice] = []
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        bank = read_syx(path)
        rel = path.relative_to(root).as_posix()
        for v, voice in enumerate(bank.voices):
            out.append(
                CorpusVoice(
                    bank=rel,
                    index=v + 1,
                    name=_printable(voice.name_metadata(10)),
                    patch=voice.to_patch(),
                    clamped=len(bank.clamps_for(v)),
                )
            )
    return out


# -- distances ---------------------------------------------------------------------------
def _weighted_matrix(patches: Sequence[Patch]) -> np.ndarray:
    """Patches as rows whose L1 distance is ``Σ_k w_k · (1 − s_k)``.

    Every ``dx7_dist`` key term is a mean of per-element scores; for a valid patch each is
    ``1 − |p − t| / (hi − lo)`` (no clipping needed inside the range; 0/1 keys: 1 − |p − t|
    is exact match), so scaling each column by ``w_k / (n_k · (hi − lo))`` turns the
    weighted dissimilarity into a plain L1 (cityblock) distance.
    """
    from fmbench.patch.distance import key_weights

    weights = key_weights()
    cols = []
    for key in KEY_ORDER:
        values = np.array([getattr(p, key) for p in patches], dtype=np.float64)
        values = values.reshape(len(patches), -1)
        lo, hi = RANGES[key]
        cols.append(values * (weights[key] / (values.shape[1] * float(hi - lo))))
    return np.concatenate(cols, axis=1)


def _total_weight() -> float:
    from fmbench.patch.distance import key_weights

    return float(sum(key_weights().values()))


def patch_distance_matrix(
    queries: Sequence[Patch], refs: Sequence[Patch] | None = None
) -> np.ndarray:
    """``1 − dx7_dist`` between every query and every reference patch (vectorised).

    Equal to ``1 − fmbench.patch.distance.patch_similarity(q, r)`` for valid patches (to
    rounding); symmetric when ``refs`` is None (queries against themselves).
    """
    from scipy.spatial.distance import cdist

    q = _weighted_matrix(queries)
    r = q if refs is None else _weighted_matrix(refs)
    return cdist(q, r, "cityblock") / _total_weight()


def nearest_distances(
    queries: Sequence[Patch], refs: Sequence[Patch], *, block: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the smallest ``1 − dx7_dist`` to any reference and its index
    (the first on ties)."""
    from scipy.spatial.distance import cdist

    if not refs:
        raise FmbenchError("nearest_distances: no reference patches")
    q, r = _weighted_matrix(queries), _weighted_matrix(refs)
    total = _total_weight()
    dist = np.empty(len(queries))
    idx = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), block):
        d = cdist(q[start : start + block], r, "cityblock") / total
        idx[start : start + block] = np.argmin(d, axis=1)
        dist[start : start + block] = d[np.arange(d.shape[0]), idx[start : start + block]]
    return dist, idx


def cluster_voices(dist: np.ndarray, threshold: float) -> np.ndarray:
    """Single-linkage clusters: voices closer than or at ``threshold`` are linked.

    Returns a label per voice: the smallest index in its cluster.
    """
    n = dist.shape[0]
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    ii, jj = np.nonzero(np.triu(dist <= threshold, k=1))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)])


# -- the build ---------------------------------------------------------------------------
@dataclass
class CorpusReport:
    """What a corpus build did (written as ``report.json``)."""

    n_voices: int = 0
    n_unique: int = 0
    n_clamped_voices: int = 0
    n_inaudible: int = 0
    n_clusters: int = 0
    n_train: int = 0
    n_test: int = 0
    n_test_clusters: int = 0
    threshold: float = DEFAULT_THRESHOLD
    test_fraction: float = DEFAULT_TEST_FRACTION
    largest_cluster: int = 0
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    families: dict[str, dict[str, int]] = field(default_factory=dict)
    families_default: dict[str, int] = field(default_factory=dict)  # the first 100 test items
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return dict(self.__dict__)


def _write_gz_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """A gzip CSV with the index column, byte-reproducible (mtime 0, no file name)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["", *header])
    for i, row in enumerate(rows):
        w.writerow([i, *row])
    data = gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _cluster_split(key: str, test_fraction: float) -> str:
    from fmbench.datagen import hash_fraction

    h = hashlib.sha256(f"cluster:{key}".encode()).hexdigest()
    return "test" if hash_fraction(h) < test_fraction else "train"


def _wav_name(name: str) -> str:
    from fmbench.patch.names import is_valid_name_char

    return "".join(ch for ch in name.strip() if is_valid_name_char(ch) and ch != " ") or "_"


def build_corpus_benchmark(
    corpus: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    captioner: Any = None,
    settings: Any = None,
    renderer: Any = DEFAULT_RENDERER,
    workers: int = 1,
    progress: bool = False,
) -> CorpusReport:
    """Build the real-voice benchmark data from the banks under ``corpus`` into ``out_dir``.

    Writes ``train.csv.gz``, ``test.csv.gz``, ``captions.csv.gz`` (dataset CSVs, gzip),
    ``voices.csv.gz`` (provenance of every voice read) and ``report.json``; returns the
    report. ``captioner`` is a :data:`fmbench.captioner.VoiceCaptioner` (default
    :func:`fmbench.captioner.caption_voice`). The same corpus, arguments, renderer and
    numpy give the same bytes.
    """
    from fmbench.audio import is_inaudible
    from fmbench.captioner import caption_voice, describe
    from fmbench.datagen import _progress, _render_all, _renderer, hash_fraction
    from fmbench.dataset import DATA_COLUMNS
    from fmbench.render import RenderSettings
    from fmbench.voicenames import classify_name

    if not 0.0 <= threshold < 1.0:
        raise FmbenchError(f"--threshold must be in [0, 1), got {threshold}")
    if not 0.0 < test_fraction < 1.0:
        raise FmbenchError(f"--test-fraction must be in (0, 1), got {test_fraction}")
    captioner = captioner or caption_voice
    settings = settings or RenderSettings()
    voices = read_corpus(corpus)
    report = CorpusReport(threshold=threshold, test_fraction=test_fraction)
    report.n_voices = len(voices)
    report.n_clamped_voices = sum(v.clamped > 0 for v in voices)

    first: dict[str, int] = {}  # content hash -> unique index
    unique: list[CorpusVoice] = []
    copies: list[int] = []
    voice_ids: list[int] = []
    for v in voices:
        h = v.patch.content_hash
        if h not in first:
            first[h] = len(unique)
            unique.append(v)
            copies.append(0)
        copies[first[h]] += 1
        voice_ids.append(first[h])
    report.n_unique = len(unique)
    hashes = [v.patch.content_hash for v in unique]

    dist = patch_distance_matrix([v.patch for v in unique])
    for t in REPORT_THRESHOLDS:
        labels = cluster_voices(dist, t)
        sizes = np.bincount(labels)
        report.thresholds.append(
            {
                "threshold": t,
                "clusters": int((sizes > 0).sum()),
                "largest": int(sizes.max()),
                "in_multi_voice_clusters": int(sizes[sizes > 1].sum()),
            }
        )
    labels = cluster_voices(dist, threshold)
    members: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        members.setdefault(lab, []).append(i)
    cluster_key = {lab: min(hashes[i] for i in idx) for lab, idx in members.items()}
    # clusters numbered by their key, so the numbers do not depend on bank order
    number = {lab: k for k, lab in enumerate(sorted(members, key=lambda lab: cluster_key[lab]))}
    split = {lab: _cluster_split(cluster_key[lab], test_fraction) for lab in members}
    unnamed = [classify_name(v.name) is None for v in unique]
    rank = {}
    for idx in members.values():
        for r, i in enumerate(sorted(idx, key=lambda i: (unnamed[i], hashes[i]))):
            rank[i] = r
    report.n_clusters = len(members)
    report.largest_cluster = max(len(m) for m in members.values())
    report.n_test_clusters = sum(s == "test" for s in split.values())

    rend = _renderer(renderer)
    captions: dict[str, str] = {}
    inaudible: list[bool] = []
    bar = _progress(len(unique), "corpus", progress)
    try:
        audios = _render_all([v.patch for v in unique], settings, rend, workers)
        for i, (v, audio) in enumerate(zip(unique, audios, strict=True)):
            silent = bool(is_inaudible(audio))
            inaudible.append(silent)
            d = describe(
                audio,
                release_at=settings.hold_seconds,
                segment_s=settings.segment_samples / settings.sample_rate,
            )
            captions[str(i)] = captioner(d, v.name, hashes[i])
            bar.update(1)
    finally:
        bar.close()
    report.n_inaudible = sum(inaudible)

    def row(i: int) -> list[Any]:
        v = unique[i]
        named = classify_name(v.name)
        return [
            str(i),
            f"{COLLECTION}/{Path(v.bank).with_suffix('').as_posix()}/{v.index}_{_wav_name(v.name)}.wav",
            json.dumps(v.patch.to_dict(), separators=(",", ":")),
            v.name,
            "True" if inaudible[i] else "False",
            "True" if v.patch.has_fixed_freqs else "False",
            v.bank,
            v.index,
            named.family if named else "",
            number[labels[i]],
            copies[i],
        ]

    header = [*DATA_COLUMNS, "bank", "voice", "family", "cluster", "copies"]
    out = Path(out_dir)
    train = [i for i in range(len(unique)) if split[labels[i]] == "train"]
    test = sorted(
        (i for i in range(len(unique)) if split[labels[i]] == "test"),
        key=lambda i: (rank[i], unnamed[i], hash_fraction(hashes[i]), hashes[i]),
    )
    report.n_train, report.n_test = len(train), len(test)
    fams: dict[str, dict[str, int]] = {}
    for name, idx in (("train", train), ("test", test)):
        for i in idx:
            named = classify_name(unique[i].name)
            fam = named.family if named else "(unnamed)"
            fams.setdefault(fam, {"train": 0, "test": 0})[name] += 1
    report.families = dict(sorted(fams.items()))
    first100 = [i for i in test if not inaudible[i]][:100]
    report.families_default = dict(
        sorted(
            Counter(
                (c.family if (c := classify_name(unique[i].name)) else "(unnamed)")
                for i in first100
            ).items()
        )
    )
    report.files["train"] = str(
        _write_gz_csv(out / "train.csv.gz", header, [row(i) for i in train])
    )
    report.files["test"] = str(_write_gz_csv(out / "test.csv.gz", header, [row(i) for i in test]))
    report.files["captions"] = str(
        _write_gz_csv(
            out / "captions.csv.gz",
            ("id", "caption"),
            [(str(i), captions[str(i)]) for i in range(len(unique))],
        )
    )
    report.files["voices"] = str(
        _write_gz_csv(
            out / "voices.csv.gz",
            ("bank", "voice", "name", "content_hash", "id", "clamped"),
            [
                (v.bank, v.index, v.name, v.patch.content_hash, voice_ids[k], v.clamped)
                for k, v in enumerate(voices)
            ],
        )
    )
    report.files = {k: Path(p).name for k, p in report.files.items()}
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


# -- overlap between datasets ------------------------------------------------------------
def load_patches(spec: str | os.PathLike[str]) -> list[Patch]:
    """The patches of a data CSV (``.csv``/``.csv.gz``) or of ``BENCHMARK:SPLIT``
    (``default:train``, ``dx7-full:test``; the split's items after the benchmark's filters)."""
    from fmbench.dataset import DatasetError, read_dataset
    from fmbench.patch.canonical import strip_metadata
    from fmbench.patch.errors import InvalidPatchError

    text = os.fspath(spec)
    if Path(text).is_file() or text.endswith((".csv", ".gz")):
        out = []
        for r in read_dataset(text):
            try:
                out.append(
                    Patch.from_dict(strip_metadata(r.patch_data), context=f"{text} id {r.id}")
                )
            except InvalidPatchError as exc:
                raise DatasetError(str(exc)) from None
        return out
    name, sep, split = text.rpartition(":")
    if not sep or split not in ("train", "test"):
        raise FmbenchError(
            f"{text!r} is neither a data CSV nor BENCHMARK:SPLIT (split = train or test)"
        )
    from fmbench.benchmark import load_benchmark

    bench = load_benchmark(name)
    items = bench.train if split == "train" else bench.test
    patches = [it.reference_patch for it in items if it.reference_patch is not None]
    if not patches:
        raise FmbenchError(f"benchmark {name!r} has no {split} patches")
    return patches


def dataset_overlap(a: Sequence[Patch], b: Sequence[Patch], *, threshold: float) -> dict[str, Any]:
    """How much of ``a`` is in ``b``: exact copies (same content hash), near-copies
    (``1 − dx7_dist`` at most ``threshold``) and the nearest-distance distribution."""
    if not a or not b:
        raise FmbenchError("overlap needs two non-empty datasets")
    hb = {p.content_hash for p in b}
    exact = sum(p.content_hash in hb for p in a)
    dist, _ = nearest_distances(a, b)
    near = int((dist <= threshold + 1e-9).sum())
    return {
        "n_a": len(a),
        "n_b": len(b),
        "threshold": threshold,
        "exact": exact,
        "exact_rate": exact / len(a),
        "near": near,
        "near_rate": near / len(a),
        "median_nearest": float(np.median(dist)),
        "mean_nearest": float(np.mean(dist)),
        "quantiles_nearest": {
            q: float(np.quantile(dist, float(q))) for q in ("0.1", "0.25", "0.5", "0.75", "0.9")
        },
    }
