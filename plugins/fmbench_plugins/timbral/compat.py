"""The one compatibility shim that makes timbral-models 0.4.0 run on numpy 2 / librosa >= 0.10.

timbral-models (AudioCommons, last released 2019) breaks on current libraries in three
known ways:

- ``np.lib.pad`` (removed in numpy 2) → ``np.pad``;
- positional ``(y, sr)`` arguments to ``librosa.onset.onset_strength`` and
  ``librosa.onset.onset_detect`` (keyword-only since librosa 0.10);
- positional ``(y, orig_sr, target_sr)`` arguments to ``librosa.core.resample``.

The shim never touches the global ``numpy`` or ``librosa`` modules. Inside
:func:`patched`, the module-level names ``np`` / ``librosa`` of timbral-models' own
modules are swapped for thin proxies that forward everything to the real modules and
fix only those calls; leaving the context restores the originals. Install the package
itself with ``pip install --no-deps timbral-models==0.4.0`` after the ``fmbench[timbral]``
extra (its metadata names the retired ``sklearn`` package).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import types
from collections.abc import Iterator
from typing import Any

#: timbral_models submodules whose ``np`` / ``librosa`` globals the shim swaps
_MODULES = (
    "timbral_util",
    "Timbral_Hardness",
    "Timbral_Roughness",
    "Timbral_Depth",
    "Timbral_Brightness",
    "Timbral_Warmth",
    "Timbral_Sharpness",
    "Timbral_Booming",
    "Timbral_Reverb",
    "Timbral_Extractor",
)

_LOCK = threading.RLock()


class _Proxy(types.ModuleType):
    """A module stand-in: the given overrides first, then the wrapped module's attributes."""

    def __init__(self, wrapped: Any, **overrides: Any) -> None:
        super().__init__(getattr(wrapped, "__name__", "proxy"))
        self.__dict__["_wrapped"] = wrapped
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_wrapped"], name)


def _numpy_proxy() -> _Proxy:
    import numpy as np

    return _Proxy(np, lib=_Proxy(np.lib, pad=np.pad))


def _librosa_proxy() -> _Proxy:
    import librosa

    def onset_strength(y=None, sr=22050, *args: Any, **kwargs: Any):
        if args:
            raise TypeError("timbral shim: unexpected extra positional arguments")
        return librosa.onset.onset_strength(y=y, sr=sr, **kwargs)

    def onset_detect(y=None, sr=22050, *args: Any, **kwargs: Any):
        if args:
            raise TypeError("timbral shim: unexpected extra positional arguments")
        return librosa.onset.onset_detect(y=y, sr=sr, **kwargs)

    def resample(y, orig_sr=None, target_sr=None, **kwargs: Any):
        return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, **kwargs)

    onset = _Proxy(librosa.onset, onset_strength=onset_strength, onset_detect=onset_detect)
    core = _Proxy(librosa.core, resample=resample)
    return _Proxy(librosa, onset=onset, core=core, resample=resample)


@contextlib.contextmanager
def patched() -> Iterator[types.ModuleType]:
    """Run timbral-models with the shim in place; yields the ``timbral_models`` package.

    Only the ``np`` and ``librosa`` globals of timbral_models' own modules are replaced
    (and restored on exit, even on error). Re-entrant and serialised by a lock, because
    the swap is process-wide for those modules.
    """
    with _LOCK:
        package = importlib.import_module("timbral_models")
        np_proxy, librosa_proxy = _numpy_proxy(), _librosa_proxy()
        saved: list[tuple[types.ModuleType, str, Any]] = []
        try:
            for name in _MODULES:
                module = importlib.import_module(f"timbral_models.{name}")
                for attr, proxy in (("np", np_proxy), ("librosa", librosa_proxy)):
                    if attr in module.__dict__ and not isinstance(module.__dict__[attr], _Proxy):
                        saved.append((module, attr, module.__dict__[attr]))
                        setattr(module, attr, proxy)
            yield package
        finally:
            for module, attr, original in reversed(saved):
                setattr(module, attr, original)
