"""CLAP metrics and embedder (docs/metrics.md#clap): ``clap``, ``clap_text_synth_prefix`` (alias
``clap_synth``), ``clap_audio`` and the ``clap`` embedder for FAD / KAD / KL.

Weights are the user's: a LAION-CLAP ``.pt`` checkpoint (default
``music_audioset_epoch_15_esc_90.14.pt`` + the ``roberta-base`` tokenizer folder) or a
Hugging Face CLAP folder, given with the ``model=`` option (a path or a model-store name).
Options of every CLAP component: ``model``, ``tokenizer``, ``device`` (``auto``: CUDA when
available), ``batch_size`` (8), ``max_text_tokens`` (77, as LAION-CLAP), ``cache``.
Nothing heavy is imported here: torch/transformers load when a component is built.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"
_REQUIRES = ("torch", "transformers")
_EXTRAS = ("clap",)


def _files():
    from fmbench_plugins.clap.engine import MODEL_FILES

    return MODEL_FILES


def _factory(class_name: str, **fixed: Any) -> Any:
    def make(**options: Any) -> Any:
        from fmbench_plugins.clap import metrics

        return getattr(metrics, class_name)(**fixed, **options)

    def model_requirements(options: dict[str, Any]) -> list[Any]:
        from fmbench_plugins.clap.engine import requirements

        return requirements(options)

    make.__name__ = f"make_{class_name}"
    make.__doc__ = f"Build :class:`fmbench_plugins.clap.metrics.{class_name}`."
    make.model_requirements = model_requirements  # read by fmbench.modelstore.check_model_files
    return make


def _common() -> dict[str, Any]:
    return dict(
        version=VERSION,
        requires=_REQUIRES,
        extras=_EXTRAS,
        model_files=_files(),
        arg_option="model",
    )


@hookimpl
def fmbench_register_metrics(register):
    """Register ``clap``, ``clap_text_synth_prefix`` (alias ``clap_synth``), ``clap_audio``."""
    register(
        "clap",
        _factory("ClapTextAudio", column="clap"),
        summary="CLAP text–audio cosine: caption vs generated audio",
        direction="higher",
        worst=-1.0,  # a cosine
        metric_kind="text_audio",
        needs=("audio", "caption"),
        outputs=[("clap", "higher", "caption–audio CLAP cosine", -1.0)],
        **_common(),
    )
    register(
        "clap_text_synth_prefix",
        _factory("ClapTextAudio", column="clap_text_synth_prefix", prefix="Synthesized "),
        summary="the original work's CLAP_synth: the same text–audio cosine with the caption "
        "prefixed 'Synthesized ' (text–audio, NOT audio–audio)",
        aliases=("clap_synth",),
        direction="higher",
        worst=-1.0,  # a cosine
        metric_kind="text_audio",
        needs=("audio", "caption"),
        outputs=[("clap_text_synth_prefix", "higher", "'Synthesized '+caption–audio cosine", -1.0)],
        **_common(),
    )
    register(
        "clap_audio",
        _factory("ClapAudioAudio"),
        summary="CLAP audio–audio cosine: generated vs reference audio embedding",
        direction="higher",
        worst=-1.0,  # a cosine
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
        outputs=[("clap_audio", "higher", "generated–reference CLAP audio cosine", -1.0)],
        **_common(),
    )


@hookimpl
def fmbench_register_embedders(register):
    """Register the ``clap`` embedder (one CLAP audio embedding per clip, 48 kHz)."""
    register(
        "clap",
        _factory("ClapEmbedder"),
        summary="CLAP audio embedding, one row per clip (48 kHz, 10 s, CLAP metric preprocessing)",
        **_common(),
    )
