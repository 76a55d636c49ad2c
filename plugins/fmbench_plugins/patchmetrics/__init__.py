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


#: (name, class in .metrics, summary, needs, direction, extra metadata) of each metric
METRICS: tuple[tuple[str, str, str, tuple[str, ...], str, dict[str, Any]], ...] = (
    (
        "parse_rate",
        "ParseRate",
        "fraction of outputs that parse into a patch object",
        ("raw_output",),
        "higher",
        {"worst": 0.0},
    ),
    (
        "validity_rate",
        "ValidityRate",
        "fraction of outputs that parse and satisfy the patch contract",
        ("raw_output",),
        "higher",
        {"worst": 0.0},
    ),
    (
        "exact_match",
        "ExactMatch",
        "1 if the generated patch equals the reference patch (canonical form)",
        ("patch", "reference_patch"),
        "higher",
        {"worst": 0.0},
    ),
    (
        "dx7_dist",
        "Dx7Dist",
        "weighted parameter similarity to the reference (1 = identical)",
        ("patch", "reference_patch"),
        "higher",
        {"worst": 0.0, "aliases": ("param_similarity",)},
    ),
    (
        "patch_errors",
        "PatchErrors",
        "per-group errors vs the reference: topology, envelopes, frequencies, levels",
        ("patch", "reference_patch"),
        "lower",
        {"outputs": GROUP_OUTPUTS},
    ),
)


@hookimpl
def fmbench_register_metrics(register):
    """Register parse_rate, validity_rate, exact_match, dx7_dist and patch_errors."""
    for name, class_name, summary, needs, direction, extra in METRICS:
        register(
            name,
            f"fmbench_plugins.patchmetrics.metrics:{class_name}",
            summary=summary,
            direction=direction,
            metric_kind="patch",
            needs=needs,
            version=VERSION,
            **extra,
        )
