"""Checkpoint-based audio embedders for FAD / KAD / KL: ``vggish`` and
``passt``, our own torch implementations loading the user's local weight files from the
model store (``fmbench models add PATH --as NAME``); see :mod:`fmbench_plugins.torchembed.vggish`
and :mod:`fmbench_plugins.torchembed.passt` for the exact front ends and expected state-dict keys.

Options of both: ``model`` (None → the declared file in the store; a store name or a
path), ``device`` (``auto`` → CUDA when available). ``vggish`` also takes ``batch_size``
(examples per forward pass), ``passt`` ``num_heads`` (default width / 64).
Install: ``pip install 'fmbench[vggish,passt]'`` (torch only).
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"


def _make(module: str, class_name: str, default_file_attr: str) -> Any:
    def make(**options: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(f"fmbench_plugins.torchembed.{module}"), class_name)(
            **options
        )

    def model_requirements(options: dict[str, Any]) -> list[Any]:
        import importlib

        from fmbench.modelstore import model_option_requirements

        mod = importlib.import_module(f"fmbench_plugins.torchembed.{module}")
        return model_option_requirements(options.get("model"), getattr(mod, default_file_attr))

    make.__name__ = f"make_{class_name}"
    make.__doc__ = f"Build :class:`fmbench_plugins.torchembed.{module}.{class_name}`."
    make.model_requirements = model_requirements  # type: ignore[attr-defined]
    return make


@hookimpl
def fmbench_register_embedders(register):
    """Register ``vggish`` (128-d rows per 0.96 s, 16 kHz) and ``passt`` (one 1295-d row
    per 10 s clip, 32 kHz)."""
    from fmbench_plugins.torchembed.passt import PASST_FILE
    from fmbench_plugins.torchembed.vggish import VGGISH_FILE

    register(
        "vggish",
        _make("vggish", "VggishEmbedder", "VGGISH_FILE"),
        summary="VGGish raw 128-d (no PCA, no final ReLU), 0.96 s examples, 16 kHz",
        version=VERSION,
        extras=("vggish",),
        requires=("torch",),
        model_files=(VGGISH_FILE,),
    )
    register(
        "passt",
        _make("passt", "PasstEmbedder", "PASST_FILE"),
        summary="PaSST-S 10 s at 32 kHz: 527 logits + 768-d embedding, one row per clip",
        version=VERSION,
        extras=("passt",),
        requires=("torch",),
        model_files=(PASST_FILE,),
    )
