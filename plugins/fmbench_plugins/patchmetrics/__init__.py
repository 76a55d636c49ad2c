"""Built-in patch-level metrics: parse/validity rate, exact match, dx7_dist, group errors.

They need no audio and no model weights. Implementations live in
:mod:`fmbench_plugins.patchmetrics.metrics`; the pure similarity function is
:func:`fmbench.patch.distance.patch_similarity`.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"

#: the worst ``freq_cents_error``: a round number above the largest possible value,
#: 1200·log2(64 820 Hz / 1 Hz) ≈ 19 181 cents (ratio 31.99 with detune +7 and transpose
#: +24 at note 60 against a fixed 1 Hz operator)
WORST_CENTS = 20_000.0

#: the output columns of ``patch_errors``: (name, direction, description, worst value)
GROUP_OUTPUTS: tuple[tuple[str, str, str, float], ...] = (
    ("topology_match", "higher", "1 if modmatrix and outmatrix equal the reference's", 0.0),
    ("algorithm_match", "higher", "1 if the topology is the reference's DX7 algorithm", 0.0),
    ("feedback_error", "lower", "|Δfeedback| / 7", 1.0),
    ("envelope_error", "lower", "mean |Δ|/99 over eg_rate and eg_level", 1.0),
    (
        "freq_cents_error",
        "lower",
        "mean |Δ| in cents of operator frequencies at note 60",
        WORST_CENTS,
    ),
    ("freq_mode_mismatch", "lower", "fraction of operators whose fixed_freq flag differs", 1.0),
    ("level_error", "lower", "mean |Δol| / 99", 1.0),
)


def _factory(class_name: str) -> Any:
    def make(**options: Any) -> Any:
        from fmbench_plugins.patchmetrics import metrics

        return getattr(metrics, class_name)(**options)

    make.__name__ = f"make_{class_name}"
    make.__doc__ = f"Build :class:`fmbench_plugins.patchmetrics.metrics.{class_name}`."
    return make


@hookimpl
def fmbench_register_metrics(register):
    """Register parse_rate, validity_rate, exact_match, dx7_dist and patch_errors."""
    register(
        "parse_rate",
        _factory("ParseRate"),
        summary="fraction of outputs that parse into a patch object",
        direction="higher",
        metric_kind="patch",
        needs=("raw_output",),
        outputs=[("parse_rate", "higher", "1 if the reply parses into an object", 0.0)],
        version=VERSION,
    )
    register(
        "validity_rate",
        _factory("ValidityRate"),
        summary="fraction of outputs that parse and satisfy the patch contract",
        direction="higher",
        metric_kind="patch",
        needs=("raw_output",),
        outputs=[("validity_rate", "higher", "1 if the reply is a valid patch", 0.0)],
        version=VERSION,
    )
    register(
        "exact_match",
        _factory("ExactMatch"),
        summary="1 if the generated patch equals the reference patch (canonical form)",
        direction="higher",
        metric_kind="patch",
        needs=("patch", "reference_patch"),
        outputs=[("exact_match", "higher", "1 if equal to the reference patch", 0.0)],
        version=VERSION,
    )
    register(
        "dx7_dist",
        _factory("Dx7Dist"),
        summary="weighted parameter similarity to the reference, spec §5.7 (1 = identical)",
        direction="higher",
        metric_kind="patch",
        needs=("patch", "reference_patch"),
        outputs=[("dx7_dist", "higher", "weighted parameter similarity (1 = identical)", 0.0)],
        aliases=("param_similarity",),
        version=VERSION,
    )
    register(
        "patch_errors",
        _factory("PatchErrors"),
        summary="per-group errors vs the reference: topology, envelopes, frequencies, levels",
        direction="lower",
        metric_kind="patch",
        needs=("patch", "reference_patch"),
        outputs=GROUP_OUTPUTS,
        version=VERSION,
    )
