"""What defines a run: its configuration and the metrics it plans to compute.

:class:`RunConfig` is stored as the run directory's ``config.json`` (the fields a resume
must match); :func:`plan_metrics` resolves metric specs against the registry before any
work starts, so a missing extra or model file stops the run with nothing done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from fmbench.components import ComponentInfo, ComponentKind
from fmbench.errors import FmbenchError
from fmbench.registry import Registry

#: how failed items (unparsable, invalid, unrenderable, non-finite audio) are scored:
#: ``score-as-failure`` gives every per-sample output its declared worst value, so every
#: item counts; ``valid-only`` scores valid items only (what the original work reported)
FAILURE_POLICIES = ("score-as-failure", "valid-only")
DEFAULT_FAILURE_POLICY = FAILURE_POLICIES[0]


class RunError(FmbenchError):
    """A run that cannot start or continue (bad configuration, mismatched resume)."""


@dataclass
class RunConfig:
    """Everything that defines a run (stored as ``config.json`` in the run directory).

    ``workers=None`` uses every core this process may run on.
    """

    benchmark: str = "default"
    generator: str = "random"  # NAME[:ARG]
    generator_options: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] | None = None  # NAME[:ARG] specs; None = the benchmark's
    renderer: str | None = None  # None = the benchmark's
    limit: int | None = None
    seed: int = 0
    failure_policy: str = DEFAULT_FAILURE_POLICY
    repair: str | None = None  # None, or a policy of fmbench.patch.repair
    workers: int | None = None
    executor: str = "local"  # local | dask | dask:ADDRESS (see fmbench.executor)
    batch_size: int = 16
    n_boot: int = 1000

    def __post_init__(self) -> None:
        if self.failure_policy not in FAILURE_POLICIES:
            raise RunError(f"failure policy must be one of {', '.join(FAILURE_POLICIES)}")
        if self.limit is not None and self.limit < 1:
            raise RunError("--limit must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise RunError("--workers must be at least 1")

    @property
    def n_workers(self) -> int:
        """The worker count to use (``workers``, or the usable cores)."""
        from fmbench.executor import default_workers

        return self.workers if self.workers is not None else default_workers()

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a run directory to be resumed."""
        d = asdict(self)
        for volatile in ("workers", "executor", "batch_size"):
            d.pop(volatile)
        d["metrics"] = list(d["metrics"]) if d["metrics"] is not None else None
        return d


@dataclass
class PlannedMetric:
    """A metric spec resolved against the registry, constructed lazily."""

    spec: str
    info: ComponentInfo
    options: dict[str, Any]

    @property
    def label(self) -> str:
        """The spec as a file-name-safe label (``kad:mfcc`` → ``kad-mfcc``)."""
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in self.spec)

    def column(self, output: str) -> str:
        """Summary/table column of one output: suffixed with the spec's argument
        (``fad`` of ``fad:mfcc`` → ``fad:mfcc``)."""
        arg = self.spec.partition(":")[2]
        return f"{output}:{arg}" if arg else output

    def identity(self, instance_identity: str) -> str:
        """The component identity recorded in the summary: plugin, name, version and the
        instance's own identity (settings, model hash)."""
        info = self.info
        return f"{info.plugin}:{info.name}@{info.version}/{instance_identity}"


def plan_metrics(
    registry: Registry, specs: Iterable[str], *, defaults: dict[str, str] | None = None
) -> list[PlannedMetric]:
    """Resolve every metric spec before any work starts (unknown/unavailable/missing model
    files → error).

    ``defaults`` fills a bare spec's argument option (``{"embedder": "mfcc"}`` turns
    ``kad`` into ``kad:mfcc``), so numbers always name the embedder that produced them.
    """
    from fmbench.modelstore import check_model_files

    planned: list[PlannedMetric] = []
    seen: set[str] = set()
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        info, options = registry.resolve_spec(ComponentKind.METRIC, spec)
        if not options and defaults and info.arg_option in defaults:
            spec = f"{spec}:{defaults[info.arg_option]}"
            info, options = registry.resolve_spec(ComponentKind.METRIC, spec)
        if spec in seen:
            continue
        seen.add(spec)
        reason = info.unavailable_reason()
        if reason:
            raise RunError(f"metric {spec!r} cannot run: {reason}")
        missing = check_model_files(info, options, registry=registry)
        if missing:
            raise RunError(f"metric {spec!r} cannot run:\n" + "\n".join(missing))
        planned.append(PlannedMetric(spec, info, options))
    if not planned:
        raise RunError("no metrics selected")
    return planned
