"""Audiobox Aesthetics (docs/metrics.md#audiobox): per-item CE, CU, PC, PQ scores from Meta's
WavLM-based predictor, loaded from a local checkpoint in the model store.

Install: ``pip install 'fmbench[aesthetics]'`` and then
``pip install --no-deps audiobox_aesthetics==0.0.4`` (its declared dependencies pull a
torchaudio that cannot load beside the CPU torch; only its torchaudio-free model module
``audiobox_aesthetics.model.aes`` is used). Weights:
``fmbench models add checkpoint.pt --as audiobox-aesthetics-checkpoint.pt``.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"
AXES = ("CE", "CU", "PC", "PQ")
_DESCRIPTIONS = {
    "CE": "content enjoyment",
    "CU": "content usefulness",
    "PC": "production complexity",
    "PQ": "production quality",
}


def _make(**options: Any) -> Any:
    """Build :class:`fmbench_plugins.aesthetics.audiobox.AudioboxAesthetics`."""
    from fmbench_plugins.aesthetics.audiobox import AudioboxAesthetics

    return AudioboxAesthetics(**options)


def _requirements(options: dict[str, Any]) -> list[Any]:
    from fmbench.modelstore import model_option_requirements
    from fmbench_plugins.aesthetics.files import AUDIOBOX_FILE

    return model_option_requirements(options.get("model"), AUDIOBOX_FILE)


_make.model_requirements = _requirements  # type: ignore[attr-defined]


@hookimpl
def fmbench_register_metrics(register):
    """Register ``audiobox`` (outputs ``audiobox_ce``, ``_cu``, ``_pc``, ``_pq``; ↑)."""
    from fmbench_plugins.aesthetics.files import AUDIOBOX_FILE

    register(
        "audiobox",
        _make,
        summary="Audiobox Aesthetics CE/CU/PC/PQ (16 kHz, 10 s windows, length-weighted)",
        direction="higher",
        metric_kind="audio",
        needs=("audio",),
        outputs=[
            # worst: the bottom of the 1-10 rating scale the model was trained on
            (f"audiobox_{a.lower()}", "higher", f"Audiobox Aesthetics {_DESCRIPTIONS[a]}", 1.0)
            for a in AXES
        ],
        extras=("aesthetics",),
        requires=("torch", "audiobox_aesthetics", "huggingface_hub"),
        # its metadata pulls a torchaudio that breaks beside the CPU torch: no deps
        providers={"audiobox_aesthetics": "--no-deps audiobox_aesthetics==0.0.4"},
        model_files=(AUDIOBOX_FILE,),
        aliases=("aesthetics",),
        version=VERSION,
    )
