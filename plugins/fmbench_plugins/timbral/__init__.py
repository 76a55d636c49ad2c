"""Built-in AC (AudioCommons timbral) metrics (docs/metrics.md#timbral).

- ``timbral``: the original timbral-models 0.4.0 through one compatibility shim
  (:mod:`fmbench_plugins.timbral.compat`). Its PyPI metadata names the retired ``sklearn``
  package, so it is not a normal dependency; install it with
  ``pip install 'fmbench[timbral]' && pip install --no-deps timbral-models==0.4.0``
  (the extra brings librosa, scikit-learn, pyloudnorm and six).
- ``timbral-fast``: our own vectorised implementation of the same eight models
  (:mod:`fmbench_plugins.timbral.audiocommons`), agreeing with ``timbral`` and several times faster.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

#: timbral-fast's extractor (``audiocommons``): bumped whenever its values change, so that
#: cached features and shipped reference layers of another version are never mixed in
FAST_VERSION = "0.2.0"

#: timbral-models' metadata names the retired ``sklearn`` package, so it is installed
#: without its declared dependencies; the ``timbral`` extra provides the real ones
_MODELS_PROVIDER = "--no-deps timbral-models==0.4.0"
_INSTALL = f"pip install 'fmbench[timbral]' && pip install {_MODELS_PROVIDER}"


def _make_models(**options: Any) -> Any:
    """Build the ``timbral`` metric (timbral-models through the shim)."""
    from fmbench_plugins.timbral.metric import TimbralMetric

    return TimbralMetric("models", prefix="timbral", **options)


def _make_fast(**options: Any) -> Any:
    """Build the ``timbral-fast`` metric (our implementation)."""
    from fmbench_plugins.timbral.metric import TimbralMetric

    return TimbralMetric("fast", prefix="timbral_fast", **options)


def _outputs(prefix: str, what: str) -> list[tuple[str, str, str, float]]:
    # attributes lie in 0..100, so the ÷100 errors lie in [0, 1] and the cosine of two
    # non-negative attribute vectors in [0, 1]: the worst values are 1, 1 and 0
    return [
        (
            f"{prefix}_l1",
            "lower",
            f"AC: mean |Δ| of the 8 {what} attributes (÷100; table's AC)",
            1.0,
        ),
        (f"{prefix}_mse", "lower", f"mean Δ² of the 8 {what} attributes (÷100)", 1.0),
        (f"{prefix}_cosine", "higher", f"cosine of the 8 {what} attribute vectors", 0.0),
    ]


@hookimpl
def fmbench_register_metrics(register):
    """Register ``timbral`` and ``timbral-fast``."""
    register(
        "timbral",
        _make_models,
        summary=("AC timbral attribute error via timbral-models 0.4.0 (install: " + _INSTALL + ")"),
        direction="lower",
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
        outputs=_outputs("timbral", "timbral-models"),
        extras=("timbral",),
        requires=("timbral_models", "librosa", "sklearn", "pyloudnorm", "six"),
        providers={"timbral_models": _MODELS_PROVIDER},
        aliases=("ac",),
        version="0.1.0",
    )
    register(
        "timbral-fast",
        _make_fast,
        summary="AC timbral attribute error, fmbench's vectorised implementation of the 8 models",
        direction="lower",
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
        outputs=_outputs("timbral_fast", "timbral-fast"),
        extras=("timbral",),
        requires=("pyloudnorm", "scipy", "numba"),
        aliases=("ac-fast",),
        version=FAST_VERSION,
    )
