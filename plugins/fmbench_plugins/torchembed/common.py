"""Shared machinery of the checkpoint-based embedders (``vggish``, ``passt``).

A :class:`CheckpointEmbedder`:

- resolves its weight file at construction (``model=`` option: None → the declared
  default file in the model store, a name in the store, or an existing path), so a
  missing file fails before any work with the model store's full message;
- carries the checkpoint's sha256 in its ``identity``, so the embedding cache
  (:mod:`fmbench.cache`, keyed by audio content hash + identity) never mixes weights;
- loads the network lazily, only when a clip is not already cached, through
  :func:`fmbench.modelstore.loaded_model` (one heavy model at a time per process):
  inside ``with embedder.session():`` the network is loaded once and released when
  the block ends; outside a session each ``embed`` call loads and releases it;
- loads weights with :func:`fmbench.modelstore.load_torch_checkpoint` (``weights_only``)
  and compares the state dict with the network before loading it, so a checkpoint of
  another architecture gives a :class:`fmbench.modelstore.ModelFileError` naming the file
  and the first missing / unexpected / mis-shaped keys.

Accepted containers: a plain state dict, or a dict holding it under ``"state_dict"``
or ``"model"``; a ``"module."`` or ``"net."`` prefix on every key is removed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.components import ModelFile
from fmbench.modelstore import (
    ModelFileError,
    check_state_dict,
    content_sha256,
    load_torch_checkpoint,
    loaded_model,
    model_option_requirements,
    resolve_device,
    resolve_model_option,
)

VERSION = "0.1.0"
_PREFIXES = ("module.", "net.")
_SHOW = 5


def extract_state_dict(obj: Any, path: str | os.PathLike[str]) -> dict[str, Any]:
    """The tensor dict inside a loaded checkpoint (see the module docstring)."""
    import torch

    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise ModelFileError(f"checkpoint {path} does not contain a state dict of tensors")
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ModelFileError(f"checkpoint {path} does not contain a state dict of tensors")
    for prefix in _PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def shape_of(state: Mapping[str, Any], key: str, path: Any, what: str) -> tuple[int, ...]:
    """The shape of ``state[key]``, or a wrong-architecture error naming the key."""
    if key not in state:
        raise ModelFileError(
            f"checkpoint {path} is not a {what} checkpoint (wrong architecture): "
            f"missing key {key!r} (it has e.g. {', '.join(list(state)[:_SHOW])})"
        )
    return tuple(state[key].shape)


class CheckpointEmbedder:
    """Base class: checkpoint resolution, identity, sessions, device (module docstring).

    Subclasses set ``name``, ``sample_rate``, ``default_dim``, ``default_file`` and
    ``what``, and implement :meth:`build_network` (state dict → module with matching
    keys) and :meth:`forward` (network, mono samples at ``sample_rate`` → rows).
    """

    name = "checkpoint"
    what = "model"
    sample_rate = 16_000
    default_dim = 0
    default_file = ModelFile("model.pt")
    settings: dict[str, Any] = {}

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        device: str | None = "auto",
        batch_size: int = 32,
    ) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.device = resolve_device(device)
        self.checkpoint: Path = resolve_model_option(
            model, self.default_file, component=f"embedder {self.name!r}"
        )
        self.checkpoint_sha256 = content_sha256(self.checkpoint)
        self._dim: int | None = None
        self._net: Any = None
        self._stack: contextlib.ExitStack | None = None
        self._load_error: str | None = None

    @classmethod
    def model_requirements(cls, options: Mapping[str, Any]) -> list[Any]:
        """What :func:`fmbench.modelstore.check_model_files` checks for these options."""
        return model_option_requirements(options.get("model"), cls.default_file)

    # -- identity ------------------------------------------------------------------
    @property
    def identity(self) -> str:
        """Name, version, front-end settings and the checkpoint's sha256."""
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        return f"{self.name}@{VERSION}({opts},sha256={self.checkpoint_sha256})"

    @property
    def dim(self) -> int:
        """Row width: the official model's until a checkpoint was loaded, then its own."""
        return self._dim if self._dim is not None else self.default_dim

    # -- loading -------------------------------------------------------------------
    def build_network(self, state: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        """A module whose state dict matches ``state``'s keys (architecture from shapes)."""
        raise NotImplementedError

    def forward(self, net: Any, y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """``(rows, dim)`` float32 from mono samples at ``sample_rate``."""
        raise NotImplementedError

    def load(self) -> Any:
        """Load the checkpoint into a fresh network on ``self.device`` (eval mode).

        A checkpoint that failed to load once (corrupted, wrong architecture) fails again
        at once with the same error instead of being re-read for every clip."""
        if self._load_error is not None:
            raise ModelFileError(self._load_error)
        try:
            return self._load()
        except ModelFileError as exc:
            self._load_error = str(exc)
            raise

    def _load(self) -> Any:
        import torch

        state = extract_state_dict(load_torch_checkpoint(self.checkpoint), self.checkpoint)
        net = self.build_network(state)
        check_state_dict(net, state, self.checkpoint, self.what)
        with torch.no_grad():
            net.load_state_dict(state, strict=True)
        del state
        net.eval().to(self.device)
        for p in net.parameters():
            p.requires_grad_(False)
        self._dim = int(getattr(net, "out_dim", self.default_dim))
        return net

    @contextlib.contextmanager
    def session(self) -> Iterator[CheckpointEmbedder]:
        """Keep the network loaded (once, on first need) until the block ends."""
        if self._stack is not None:  # nested: the outer session owns the model
            yield self
            return
        with contextlib.ExitStack() as stack:
            self._stack = stack
            try:
                yield self
            finally:
                self._net = None
                self._stack = None

    def _network(self, stack: contextlib.ExitStack) -> Any:
        if self._stack is not None:
            if self._net is None:
                self._net = self._stack.enter_context(loaded_model(self.load))
            return self._net
        return stack.enter_context(loaded_model(self.load))

    # -- embedding -----------------------------------------------------------------
    def prepare(self, audio: Audio) -> np.ndarray:
        """Mono float64 samples at ``sample_rate``, quantised to int16 and ÷ 32768 (the
        original wrote a 16-bit WAV at the model rate and read it back)."""
        if len(audio) == 0:
            raise ValueError("cannot embed empty audio")
        return audio.resample(self.sample_rate).to_int16().astype(np.float64) / 32768.0

    def embed(self, audio: Audio) -> np.ndarray:
        """``(rows, dim)`` float32 embedding of one clip (any rate; resampled)."""
        import torch

        y = self.prepare(audio)
        with contextlib.ExitStack() as stack, torch.inference_mode():
            net = self._network(stack)
            out = self.forward(net, y)
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_many(self, audios: list[Audio]) -> list[np.ndarray]:
        """:meth:`embed` for several clips with the network loaded once."""
        with self.session():
            return [self.embed(a) for a in audios]
