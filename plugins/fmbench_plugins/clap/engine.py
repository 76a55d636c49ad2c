"""Model resolution, loading and cached embedding for the CLAP metrics and embedder.

Two backends, chosen by what the ``model`` option resolves to:

- a **folder**: a Hugging Face CLAP model (``config.json`` + weights + tokenizer +
  ``preprocessor_config.json``), loaded with ``ClapModel`` / ``ClapProcessor``;
- a **file**: a LAION-CLAP ``.pt`` checkpoint (default
  ``music_audioset_epoch_15_esc_90.14.pt``), converted into a ``ClapModel``
  (:mod:`fmbench_plugins.clap.convert`); its text tokenizer is RoBERTa's, from the ``tokenizer``
  option (default: the ``roberta-base`` folder in the model store).

The model identity (part of every cache key and of the metrics' identity) is the sha256
of the checkpoint file or folder (plus the tokenizer's for ``.pt`` checkpoints).
The feature extractor runs with ``truncation="rand_trunc"`` for unfused models and
``"fusion"`` for fused ones, always on exactly 10 s of audio, with ``is_longer`` forced
to False: no random crop, no random fusion choice, so results are deterministic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.cache import Cache, make_key
from fmbench.components import ModelFile
from fmbench.errors import FmbenchError
from fmbench.modelstore import (
    ModelFileError,
    ModelStore,
    content_sha256,
    model_option_requirements,
    release_memory,
    resolve_device,
    resolve_model_option,
)
from fmbench_plugins.clap.preprocess import (
    CLIP_SAMPLES,
    PREPROCESS_VERSION,
    SAMPLE_RATE,
    preprocess,
)

DEFAULT_CHECKPOINT = ModelFile(
    "music_audioset_epoch_15_esc_90.14.pt",
    sha256=None,  # not known to us: not invented; verify your copy with `fmbench models verify`
    size=None,
    url="https://huggingface.co/lukewys/laion_clap/resolve/main/music_audioset_epoch_15_esc_90.14.pt",
    description="LAION-CLAP music checkpoint (HTSAT-base, no fusion), the original default",
    format="torch",
)
ROBERTA_TOKENIZER = ModelFile(
    "roberta-base",
    url="https://huggingface.co/FacebookAI/roberta-base/resolve/main/",
    members=("vocab.json", "merges.txt"),
    description="folder with RoBERTa's vocab.json and merges.txt: the text tokenizer of "
    "LAION-CLAP .pt checkpoints",
)
MODEL_FILES = (DEFAULT_CHECKPOINT, ROBERTA_TOKENIZER)


def _is_folder_spec(value: Any, store: ModelStore) -> bool:
    text = os.fspath(value)
    path = Path(text).expanduser()
    if path.exists():
        return path.is_dir()
    try:
        return store.where(text).is_dir()
    except FmbenchError:
        return False


def requirements(options: dict[str, Any]) -> list[ModelFile | str | Path]:
    """Files the CLAP components need with these options (for the runner's pre-check)."""
    store = ModelStore()
    model = options.get("model")
    reqs = model_option_requirements(model, DEFAULT_CHECKPOINT)
    if model is not None and _is_folder_spec(model, store):
        return reqs
    return reqs + model_option_requirements(options.get("tokenizer"), ROBERTA_TOKENIZER)


@dataclass(frozen=True)
class ClapSource:
    """A resolved CLAP model: where it is, which backend, and its identity."""

    kind: str  # "hf" or "laion"
    path: Path
    tokenizer: Path | None
    identity: str

    @classmethod
    def resolve(
        cls, model: str | os.PathLike[str] | None = None, tokenizer: Any = None
    ) -> ClapSource:
        """Resolve the ``model`` / ``tokenizer`` options (missing → MissingModelError)."""
        store = ModelStore()
        path = resolve_model_option(
            model, DEFAULT_CHECKPOINT, store=store, declared=MODEL_FILES, component="clap"
        )
        if path.is_dir():
            return cls("hf", path, None, f"hf:{content_sha256(path)[:16]}")
        tok = resolve_model_option(
            tokenizer, ROBERTA_TOKENIZER, store=store, declared=MODEL_FILES, component="clap"
        )
        if not tok.is_dir():
            raise FmbenchError(f"clap tokenizer {tok} must be a folder (vocab.json, merges.txt)")
        identity = f"laion:{content_sha256(path)[:16]}+tok:{content_sha256(tok)[:12]}"
        return cls("laion", path, tok, identity)


class LoadedClap:
    """A CLAP model on a device with its feature extractor and tokenizer."""

    def __init__(self, source: ClapSource, device: str) -> None:
        import torch  # noqa: F401 - fail early with the extra's name if missing

        self.device = device
        if source.kind == "laion":
            from transformers import ClapFeatureExtractor, RobertaTokenizer

            from fmbench_plugins.clap.convert import load_laion_checkpoint

            self.model = load_laion_checkpoint(source.path)
            self.features = ClapFeatureExtractor(
                feature_size=self.model.config.audio_config.num_mel_bins,
                sampling_rate=SAMPLE_RATE,
                hop_length=480,
                max_length_s=10,
                fft_window_size=1024,
                frequency_min=50,
                frequency_max=14_000,
                truncation="rand_trunc",
            )
            try:
                self.tokenizer = RobertaTokenizer.from_pretrained(str(source.tokenizer))
            except Exception as exc:  # noqa: BLE001
                raise ModelFileError(
                    f"cannot load the RoBERTa tokenizer from {source.tokenizer}: {exc}"
                ) from None
        else:
            from transformers import AutoTokenizer, ClapFeatureExtractor, ClapModel

            try:
                self.model = ClapModel.from_pretrained(str(source.path)).eval()
                self.features = ClapFeatureExtractor.from_pretrained(str(source.path))
                self.tokenizer = AutoTokenizer.from_pretrained(str(source.path))
            except Exception as exc:  # noqa: BLE001 - any load failure is the folder's fault
                detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
                raise ModelFileError(
                    f"cannot load a Hugging Face CLAP model from {source.path}: "
                    f"{type(exc).__name__}: {detail}"
                ) from None
            if self.features.sampling_rate != SAMPLE_RATE or (
                self.features.nb_max_samples != CLIP_SAMPLES
            ):
                raise ModelFileError(
                    f"{source.path}: expects {self.features.sampling_rate} Hz / "
                    f"{self.features.nb_max_samples} samples, fmbench's CLAP preprocessing "
                    f"is {SAMPLE_RATE} Hz / {CLIP_SAMPLES} samples"
                )
        if len(self.tokenizer) < 4:
            raise ModelFileError(f"the tokenizer of {source.path} is empty (incomplete folder?)")
        self.fused = bool(getattr(self.model.config.audio_config, "enable_fusion", False))
        self.model.to(device)

    @staticmethod
    def _features(out: Any) -> Any:
        return out if hasattr(out, "shape") else out.pooler_output

    def embed_audio(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """L2-normalised audio embeddings of preprocessed 480 000-sample clips."""
        import torch

        state = np.random.get_state()  # the extractor's fusion path draws from numpy's RNG
        try:
            feats = self.features(
                [np.asarray(c, dtype=np.float32) for c in clips],
                sampling_rate=SAMPLE_RATE,
                truncation="fusion" if self.fused else "rand_trunc",
                padding="repeatpad",
                return_tensors="pt",
            )
        finally:
            np.random.set_state(state)
        longer = torch.zeros((len(clips), 1), dtype=torch.bool)  # nothing is > 10 s here
        with torch.inference_mode():
            out = self.model.get_audio_features(
                input_features=feats["input_features"].to(self.device, torch.float32),
                is_longer=longer.to(self.device),
            )
        return self._features(out).float().cpu().numpy()

    def embed_text(self, texts: Sequence[str], max_tokens: int) -> np.ndarray:
        """L2-normalised text embeddings (texts truncated to ``max_tokens`` tokens)."""
        import torch

        max_pos = int(self.model.config.text_config.max_position_embeddings) - 2
        tok = self.tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=min(max_tokens, max_pos),
            return_tensors="pt",
        )
        with torch.inference_mode():
            out = self.model.get_text_features(
                input_ids=tok["input_ids"].to(self.device),
                attention_mask=tok["attention_mask"].to(self.device),
            )
        return self._features(out).float().cpu().numpy()


class ClapEngine:
    """Cached CLAP embeddings; the model is loaded only on a cache miss, inside
    :meth:`session` (released at its end) or until :meth:`close`."""

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        *,
        device: str = "auto",
        batch_size: int = 8,
        max_text_tokens: int = 77,
        cache: Any = True,
    ) -> None:
        if int(batch_size) < 1:
            raise FmbenchError(f"batch_size must be ≥ 1, got {batch_size}")
        if int(max_text_tokens) < 3:
            raise FmbenchError(f"max_text_tokens must be ≥ 3, got {max_text_tokens}")
        self.source = ClapSource.resolve(model, tokenizer)
        self.device_option = device
        self.batch_size = int(batch_size)
        self.max_text_tokens = int(max_text_tokens)
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.identity = f"{self.source.identity}/{PREPROCESS_VERSION}"
        self._loaded: LoadedClap | None = None
        self._memo: dict[str, np.ndarray] = {}

    # -- model lifetime --------------------------------------------------------------
    def _model(self) -> LoadedClap:
        if self._loaded is None:
            self._loaded = LoadedClap(self.source, resolve_device(self.device_option))
        return self._loaded

    def close(self) -> None:
        """Release the model (if loaded) and free memory."""
        if self._loaded is not None:
            self._loaded = None
            release_memory()

    def session(self) -> Any:
        """A context manager: the model loaded inside it (lazily) is released at its end."""
        import contextlib

        from fmbench.modelstore import HEAVY_MODEL_LOCK

        @contextlib.contextmanager
        def _session():
            with HEAVY_MODEL_LOCK:
                try:
                    yield self
                finally:
                    self.close()

        return _session()

    # -- embeddings ------------------------------------------------------------------
    def _cached(self, key: str) -> np.ndarray | None:
        """The embedding under ``key`` from memory or the disk cache (then kept in memory)."""
        hit = self._memo.get(key)
        if hit is None:
            hit = self.cache.get("clap", key)
        if hit is not None:
            self._memo[key] = hit
        return hit

    def _compute(
        self,
        todo: dict[str, list[int]],
        embed: Callable[[list[str]], Any],
        out: list[np.ndarray | None],
    ) -> None:
        """Embed the keys of ``todo`` in batches with ``embed(keys)``, cache each
        embedding and put it at every index ``todo[key]`` of ``out``."""
        keys = list(todo)
        for start in range(0, len(keys), self.batch_size):
            chunk = keys[start : start + self.batch_size]
            for k, e in zip(chunk, embed(chunk), strict=True):
                e = np.asarray(e, dtype=np.float32)
                self.cache.put("clap", k, e)
                self._memo[k] = e
                for i in todo[k]:
                    out[i] = e

    def audio_key(self, audio: Audio) -> str:
        return make_key("clap-audio", audio.content_hash, self.identity)

    def audio_embeddings(
        self, clips: Sequence[Audio | None]
    ) -> tuple[list[np.ndarray | None], dict[int, str], int]:
        """Embeddings (None where impossible), reasons by index, and how many clips were
        longer than 10 s (cut to their first 10 s)."""
        out: list[np.ndarray | None] = [None] * len(clips)
        reasons: dict[int, str] = {}
        todo: dict[str, list[int]] = {}
        longer = 0
        pending: dict[str, Audio] = {}
        for i, a in enumerate(clips):
            if a is None:
                reasons[i] = "no audio"
                continue
            if len(a) == 0:
                reasons[i] = "empty audio"
                continue
            if not np.isfinite(a.samples).all():
                reasons[i] = "audio contains NaN or infinite samples"
                continue
            if a.peak == 0.0:
                reasons[i] = "silent audio"
                continue
            if round(len(a) * SAMPLE_RATE / a.sample_rate) > CLIP_SAMPLES:
                longer += 1
            key = self.audio_key(a)
            hit = self._cached(key)
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)
                pending[key] = a

        def embed(chunk: list[str]) -> Any:
            arrays = [preprocess(pending[k])[0] for k in chunk]
            return self._model().embed_audio(arrays)

        self._compute(todo, embed, out)
        return out, reasons, longer

    def text_embeddings(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Embeddings of ``texts`` (cached by text + model identity + token limit)."""
        out: list[np.ndarray | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            key = make_key("clap-text", t, self.identity, self.max_text_tokens)
            hit = self._cached(key)
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)

        def embed(chunk: list[str]) -> Any:
            return self._model().embed_text(
                [texts[todo[k][0]] for k in chunk], self.max_text_tokens
            )

        self._compute(todo, embed, out)
        return out  # type: ignore[return-value]


def cosine(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> float:
    """``a·b / max(‖a‖‖b‖, eps)`` in float64 (torch ``cosine_similarity`` semantics)."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a64 @ b64 / max(float(np.linalg.norm(a64) * np.linalg.norm(b64)), eps))
