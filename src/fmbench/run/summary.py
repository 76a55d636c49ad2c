"""A run's summary: versioned value objects, serialised once as ``summary.json``.

:class:`RunSummary` holds the accounting, the identities of every component and one
:class:`MetricSummary` (point estimate, interval, n) per metric output. Readers go through
:func:`load_summary`, which refuses other schema versions with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.errors import FmbenchError

SCHEMA_VERSION = 1
SUMMARY_JSON = "summary.json"


class RunStoreError(FmbenchError):
    """A run directory or one of its files cannot be used (missing, malformed, ...)."""


class SchemaVersionError(RunStoreError):
    """A summary written with another (older or newer) schema version, or none."""


class IncompleteRunError(RunStoreError):
    """A run directory that is not complete (missing files or manifest mismatch)."""


# --------------------------------------------------------------------------------------
# summary dataclasses


def _num(x: Any) -> float:
    """JSON value → float (``null`` means NaN)."""
    return math.nan if x is None else float(x)


def _json_num(x: float | None) -> float | None:
    """float → JSON value (NaN and inf become ``null``: strict JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def item_set_hash(ids: Iterable[str]) -> str:
    """The identity of a set of item ids: sha256 (hex) of the sorted ids joined by
    newlines. Two runs scored the same items exactly when their hashes are equal."""
    return hashlib.sha256("\n".join(sorted(str(i) for i in ids)).encode("utf-8")).hexdigest()


@dataclass
class BenchmarkRef:
    """Which benchmark a run evaluated, and on which items.

    ``item_set`` is :func:`item_set_hash` of the ids the run scored ("" in summaries
    written before it was recorded); ``limit`` is the ``--limit`` the run was made with
    (None: every item of the benchmark). Runs are comparable only on the same item set.
    """

    name: str
    version: str
    identity: str
    n_items: int
    item_set: str = ""
    limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``item_set`` and ``limit`` only when recorded)."""
        d: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "identity": self.identity,
            "n_items": self.n_items,
        }
        if self.item_set:
            d["item_set"] = self.item_set
        if self.limit is not None:
            d["limit"] = self.limit
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchmarkRef:
        """Inverse of :meth:`to_dict` (older summaries have no ``item_set``/``limit``)."""
        limit = d.get("limit")
        return cls(
            str(d["name"]),
            str(d["version"]),
            str(d["identity"]),
            int(d["n_items"]),
            str(d.get("item_set") or ""),
            None if limit is None else int(limit),
        )


@dataclass
class ComponentRef:
    """A generator or renderer: name, identity and the options/settings it ran with."""

    name: str
    identity: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, options_key: str = "options") -> dict[str, Any]:
        """Plain JSON-ready dict (``options_key`` is ``settings`` for renderers)."""
        return {"name": self.name, "identity": self.identity, options_key: dict(self.options)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], options_key: str = "options") -> ComponentRef:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["name"]), str(d["identity"]), dict(d.get(options_key) or {}))


@dataclass
class Accounting:
    """What happened to every item: generated, parsed, valid, repaired, rendered, inaudible."""

    n_items: int = 0
    n_generated: int = 0
    n_parsed: int = 0
    n_valid: int = 0
    n_repaired: int = 0
    n_rendered: int = 0
    n_inaudible: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain JSON-ready dict."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Accounting:
        """Inverse of :meth:`to_dict` (missing counters are 0)."""
        return cls(**{k: int(d.get(k, 0) or 0) for k in cls.__dataclass_fields__})


@dataclass
class Estimate:
    """A value with its 95% CI over ``n`` items (NaN where undefined)."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN → null)."""
        return {
            "value": _json_num(self.value),
            "ci_low": _json_num(self.ci_low),
            "ci_high": _json_num(self.ci_high),
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        return cls(_num(d["value"]), _num(d.get("ci_low")), _num(d.get("ci_high")), int(d["n"]))


@dataclass
class MetricSummary:
    """One metric output column of a run: its value, CI, direction and provenance.

    ``value`` follows the run's failure policy; ``valid_only`` holds the number over
    valid samples only, as the original work reported it (None when not computed).
    ``metric_identity`` is the component identity (plugin, name, version, settings);
    ``n_items`` is how many items the value had to cover: a per-sample value over fewer
    (``n < n_items``) is incomplete, and every reader flags it.
    """

    metric: str
    direction: str  # "higher" | "lower"
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    n_nan: int = 0
    metric_identity: str = ""
    kind: str = ""
    valid_only: Estimate | None = None
    #: how the 95% CI was computed: "bootstrap" (percentile, per-sample metrics),
    #: "subsample" (bias-corrected half-sampling, fmbench.stats.set_ci; set-level metrics)
    #: or "jackknife" (delete-one, normal approximation; set-level metrics of older runs)
    ci_method: str = "bootstrap"
    n_items: int = 0

    @property
    def complete(self) -> bool:
        """Whether the value covers every item it had to (always true for set-level
        values and for summaries written before ``n_items`` was recorded)."""
        return self.kind == "set" or self.n_items == 0 or self.n == self.n_items

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"direction must be 'higher' or 'lower', not {self.direction!r}")

    @property
    def higher_is_better(self) -> bool:
        """True when larger values are better."""
        return self.direction == "higher"

    @property
    def arrow(self) -> str:
        """↑ or ↓."""
        from fmbench.components import Direction

        return Direction(self.direction).arrow

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN → null)."""
        return {
            "metric": self.metric,
            "metric_identity": self.metric_identity,
            "kind": self.kind,
            "direction": self.direction,
            "value": _json_num(self.value),
            "ci_low": _json_num(self.ci_low),
            "ci_high": _json_num(self.ci_high),
            "ci_method": self.ci_method,
            "n": self.n,
            "n_nan": self.n_nan,
            "n_items": self.n_items,
            "valid_only": None if self.valid_only is None else self.valid_only.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricSummary:
        """Inverse of :meth:`to_dict`."""
        vo = d.get("valid_only")
        return cls(
            metric=str(d["metric"]),
            direction=str(d["direction"]),
            value=_num(d["value"]),
            ci_low=_num(d.get("ci_low")),
            ci_high=_num(d.get("ci_high")),
            n=int(d.get("n", 0)),
            n_nan=int(d.get("n_nan", 0)),
            metric_identity=str(d.get("metric_identity", "")),
            kind=str(d.get("kind", "")),
            valid_only=None if vo is None else Estimate.from_dict(vo),
            ci_method=str(d.get("ci_method", "bootstrap")),
            n_items=int(d.get("n_items", 0) or 0),
        )


@dataclass
class RunSummary:
    """The versioned ``summary.json`` of a run (see the run contract)."""

    run_id: str
    benchmark: BenchmarkRef
    generator: ComponentRef
    renderer: ComponentRef
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    accounting: Accounting = field(default_factory=Accounting)
    created: str = ""
    complete: bool = True
    fmbench_version: str = ""
    git_sha: str | None = None
    seed: int = 0
    failure_policy: str = "score-as-failure"
    errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept for round trips
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict in the contract's key order."""
        d: dict[str, Any] = {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "created": self.created,
            "complete": self.complete,
            "fmbench_version": self.fmbench_version,
            "git_sha": self.git_sha,
            "seed": self.seed,
            "benchmark": self.benchmark.to_dict(),
            "generator": self.generator.to_dict("options"),
            "renderer": self.renderer.to_dict("settings"),
            "failure_policy": self.failure_policy,
            "accounting": self.accounting.to_dict(),
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "errors": dict(self.errors),
            "timings": dict(self.timings),
        }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSummary:
        """Inverse of :meth:`to_dict`. Raises KeyError/TypeError/ValueError on bad data;
        :func:`load_summary` turns those into a :class:`RunStoreError` naming the file."""
        known = set(cls.__dataclass_fields__) - {"extra"}
        metrics = d.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            raise TypeError("'metrics' must be an object")
        return cls(
            schema_version=int(d["schema_version"]),
            run_id=str(d["run_id"]),
            created=str(d.get("created", "")),
            complete=bool(d.get("complete", True)),
            fmbench_version=str(d.get("fmbench_version", "")),
            git_sha=d.get("git_sha"),
            seed=int(d.get("seed", 0) or 0),
            benchmark=BenchmarkRef.from_dict(d["benchmark"]),
            generator=ComponentRef.from_dict(d["generator"], "options"),
            renderer=ComponentRef.from_dict(d["renderer"], "settings"),
            failure_policy=str(d.get("failure_policy", "score-as-failure")),
            accounting=Accounting.from_dict(d.get("accounting") or {}),
            metrics={str(k): MetricSummary.from_dict(v) for k, v in metrics.items()},
            errors={str(k): str(v) for k, v in (d.get("errors") or {}).items()},
            timings=dict(d.get("timings") or {}),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_json(self) -> str:
        """Strict JSON text (no NaN), indented, ending with a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def summary_from_json_text(text: str, source: str | os.PathLike[str]) -> RunSummary:
    """Parse and validate summary JSON text; errors name ``source`` and say what to do."""
    if not text.strip():
        raise RunStoreError(f"{source}: empty file (not a run summary)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunStoreError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunStoreError(f"{source}: expected a JSON object, found {type(data).__name__}")
    version = data.get("schema_version")
    if version is None:
        raise SchemaVersionError(
            f"{source}: no 'schema_version' (not an fmbench run summary, or written before "
            f"versioning); re-run the benchmark with this fmbench to get a version "
            f"{SCHEMA_VERSION} summary"
        )
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaVersionError(f"{source}: 'schema_version' must be an integer, not {version!r}")
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{source}: summary schema version {version} is older than this fmbench's "
            f"version {SCHEMA_VERSION}; re-run the benchmark (`fmbench run ...`) to "
            f"regenerate it"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{source}: summary schema version {version} is newer than this fmbench's "
            f"version {SCHEMA_VERSION}; upgrade fmbench (`pip install -U fmbench`) to read it"
        )
    try:
        return RunSummary.from_dict(data)
    except KeyError as exc:
        raise RunStoreError(f"{source}: malformed summary: missing field {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise RunStoreError(f"{source}: malformed summary: {exc}") from None


def load_summary(path_or_run_dir: str | os.PathLike[str]) -> RunSummary:
    """Load a ``summary.json`` (or the one inside a run directory), checking its schema."""
    path = Path(path_or_run_dir)
    if path.is_dir():
        path = path / SUMMARY_JSON
    if not path.exists():
        raise RunStoreError(f"{path}: no such file (expected a run directory or summary.json)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunStoreError(f"{path}: cannot read ({exc})") from None
    return summary_from_json_text(text, path)
