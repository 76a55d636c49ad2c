"""Built-in memorisation metric: is a generated patch a (near-)copy of a train patch?

A model that learned the mapping writes new patches; one that retrieves returns train
patches. ``memorisation:BENCHMARK`` compares each generated patch with the train split of
BENCHMARK (normally the benchmark being run: the built-in definitions name themselves);
docs/metrics.md, "memorisation". The implementation is
:mod:`fmbench_plugins.memorisation.metric`.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"

#: (name, direction, description, worst)
OUTPUTS: tuple[tuple[str, str, str, float], ...] = (
    ("train_copy", "lower", "1 if the patch equals a train patch (content hash)", 1.0),
    (
        "train_near_copy",
        "lower",
        "1 if the nearest train patch is within the threshold (1 - dx7_dist)",
        1.0,
    ),
    ("nearest_train_dist", "higher", "1 - dx7_dist to the nearest train patch", 0.0),
)


def _make(**options: Any) -> Any:
    """Build :class:`fmbench_plugins.memorisation.metric.Memorisation`."""
    from fmbench_plugins.memorisation.metric import Memorisation

    return Memorisation(**options)


@hookimpl
def fmbench_register_metrics(register):
    """Register ``memorisation`` (argument: the benchmark whose train split is compared)."""
    register(
        "memorisation",
        _make,
        summary="share of generated patches that copy (or nearly copy) a train patch",
        direction="lower",
        metric_kind="patch",
        needs=("patch",),
        arg_option="benchmark",
        outputs=OUTPUTS,
        version=VERSION,
    )
