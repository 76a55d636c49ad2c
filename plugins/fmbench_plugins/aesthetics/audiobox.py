"""The ``audiobox`` metric: Audiobox Aesthetics CE / CU / PC / PQ per item
(docs/metrics.md#audiobox).

Reproduces ``audiobox_aesthetics.infer.AesPredictor.forward`` without its torchaudio
parts (file loading and resampling), using the package's own model class
``audiobox_aesthetics.model.aes.AesMultiOutput``:

- audio → 16 kHz mono by :meth:`fmbench.audio.Audio.resample` (soxr; the package used
  torchaudio's sinc resampler, so scores can differ in the last digits);
- windows of 10 s every 10 s; the last window is zero-padded to 10 s and its padding
  masked (the model ignores masked frames when pooling);
- the four heads' outputs are mapped back with the checkpoint's ``target_transform``
  (``x·std + mean``) and averaged over a clip's windows with weights
  ``window length / 10 s`` (one window of weight 0.96 for a 9.6 s DX7 render).

Checkpoint (``audiobox-aesthetics-checkpoint.pt``, the package's ``checkpoint.pt``):
``{"state_dict": {"model." + key: tensor}, "model_cfg": {proj_num_layer, proj_ln,
proj_act_fn, proj_dropout, nth_layer, use_weighted_layer_sum, precision,
normalize_embed, output_dim, …}, "target_transform": {CE|CU|PC|PQ: {mean, std}}}``,
loaded with ``weights_only=True``. ``model_cfg["precision"]`` is passed on as the package
does; note that audiobox_aesthetics 0.0.4 tests the *converted* dtype against strings
(``str(torch.bfloat16) in {"16", "bf16"}``), so its autocast never turns on and inference
runs in float32 whatever the checkpoint says (the original ran in bf16). We keep the
package's behaviour (checked: a "bf16" and a "32" checkpoint give identical scores).

Scores are cached per clip (:mod:`fmbench.cache`, namespace ``audiobox``) by audio
content hash + this metric's identity, which includes the checkpoint's sha256; the model
is loaded only when a clip is not cached, through :func:`fmbench.modelstore.loaded_model`,
and released when ``score`` returns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fmbench.audio import audio_problem
from fmbench.cache import Cache, make_key
from fmbench.contracts import MetricResult, Sample
from fmbench.modelstore import (
    ModelFileError,
    content_sha256,
    load_torch_checkpoint,
    loaded_model,
    resolve_device,
    resolve_model_option,
)

from . import AXES, VERSION
from .files import AUDIOBOX_FILE

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 10
HOP_SECONDS = 10
WINDOW = WINDOW_SECONDS * SAMPLE_RATE
HOP = HOP_SECONDS * SAMPLE_RATE
#: the ``model_cfg`` entries ``AesMultiOutput`` takes (as the package's predictor reads them)
CFG_KEYS = (
    "proj_num_layer",
    "proj_ln",
    "proj_act_fn",
    "proj_dropout",
    "nth_layer",
    "use_weighted_layer_sum",
    "precision",
    "normalize_embed",
    "output_dim",
)


def windows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(wavs (n, 160000), masks (n, 160000) bool, weights (n,))`` for 16 kHz samples:
    10 s windows every 10 s, the last zero-padded and masked, weight = length / 10 s."""
    y = np.asarray(y, dtype=np.float32)
    starts = range(0, max(len(y), 1), HOP)
    wavs = np.zeros((len(starts), WINDOW), np.float32)
    masks = np.zeros((len(starts), WINDOW), bool)
    weights = np.zeros(len(starts), np.float64)
    for i, s in enumerate(starts):
        part = y[s : s + WINDOW]
        wavs[i, : len(part)] = part
        masks[i, : len(part)] = True
        weights[i] = len(part) / WINDOW
    return wavs, masks, weights


class AudioboxAesthetics:
    """Per-item Audiobox Aesthetics scores (module docstring).

    Options: ``model`` (None → the store's ``audiobox-aesthetics-checkpoint.pt``; a store
    name or a path), ``device`` (``auto`` → CUDA when available), ``batch_size``
    (10 s windows per forward pass), ``cache`` (True, a folder, or False).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        device: str | None = "auto",
        batch_size: int = 4,
        cache: Any = True,
    ) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.device = resolve_device(device)
        self.checkpoint = resolve_model_option(model, AUDIOBOX_FILE, component="metric 'audiobox'")
        self.checkpoint_sha256 = content_sha256(self.checkpoint)
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.identity = (
            f"audiobox@{VERSION}(sr={SAMPLE_RATE},win={WINDOW_SECONDS},hop={HOP_SECONDS},"
            f"sha256={self.checkpoint_sha256})"
        )
        self.target_transform: dict[str, tuple[float, float]] = {}

    # -- loading -------------------------------------------------------------------
    def _read_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        import torch

        path = self.checkpoint
        ckpt = load_torch_checkpoint(path)
        if not isinstance(ckpt, Mapping) or not all(
            isinstance(ckpt.get(k), Mapping)
            for k in ("state_dict", "model_cfg", "target_transform")
        ):
            keys = list(ckpt)[:5] if isinstance(ckpt, Mapping) else type(ckpt).__name__
            raise ModelFileError(
                f"checkpoint {path} is not an audiobox-aesthetics checkpoint (wrong layout): "
                f"expected a dict with state_dict, model_cfg and target_transform, got {keys}"
            )
        state = {
            (k[len("model.") :] if k.startswith("model.") else k): v
            for k, v in ckpt["state_dict"].items()
            if isinstance(v, torch.Tensor)
        }
        tt = ckpt["target_transform"]
        try:
            transform = {a: (float(tt[a]["mean"]), float(tt[a]["std"])) for a in AXES}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"checkpoint {path}: target_transform must give mean and std for "
                f"{', '.join(AXES)} ({type(exc).__name__}: {exc})"
            ) from None
        cfg = {k: ckpt["model_cfg"][k] for k in CFG_KEYS if k in ckpt["model_cfg"]}
        return state, cfg, {a: {"mean": m, "std": s} for a, (m, s) in transform.items()}

    def load(self) -> Any:
        """Build ``AesMultiOutput`` from the checkpoint, check and load its weights."""
        import torch
        from audiobox_aesthetics.model.aes import AesMultiOutput

        state, cfg, transform = self._read_checkpoint()
        try:
            model = AesMultiOutput(**cfg, target_transform=transform)
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(
                f"checkpoint {self.checkpoint}: model_cfg {cfg} is not usable "
                f"({type(exc).__name__}: {exc})"
            ) from None
        from fmbench.modelstore import check_state_dict

        check_state_dict(model, state, self.checkpoint, "audiobox-aesthetics")
        with torch.no_grad():
            model.load_state_dict(state, strict=True)
        del state
        model.eval().to(self.device)
        self.target_transform = {a: (v["mean"], v["std"]) for a, v in transform.items()}
        return model

    # -- scoring -------------------------------------------------------------------
    def predict(self, model: Any, wavs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Raw (normalised) head outputs ``(n_windows, 4)`` in ``batch_size`` chunks."""
        import torch

        rows = []
        with torch.inference_mode():
            for i in range(0, len(wavs), self.batch_size):
                w = torch.from_numpy(wavs[i : i + self.batch_size])[:, None].to(self.device)
                m = torch.from_numpy(masks[i : i + self.batch_size])[:, None].to(self.device)
                out = model({"wav": w, "mask": m})
                rows.append(
                    torch.stack([out[a].float().reshape(-1) for a in AXES], dim=1).cpu().numpy()
                )
        return np.concatenate(rows).astype(np.float64)

    def _scores(self, model: Any, clips: list[np.ndarray]) -> list[np.ndarray]:
        parts = [windows(y) for y in clips]
        wavs = np.concatenate([p[0] for p in parts])
        masks = np.concatenate([p[1] for p in parts])
        raw = self.predict(model, wavs, masks)
        mean = np.array([self.target_transform[a][0] for a in AXES])
        std = np.array([self.target_transform[a][1] for a in AXES])
        preds = raw * std + mean
        out, at = [], 0
        for _, _, w in parts:
            p = preds[at : at + len(w)]
            out.append((p * w[:, None]).sum(axis=0) / w.sum())
            at += len(w)
        return out

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """CE/CU/PC/PQ per sample (NaN with a reason for missing or bad audio)."""
        cols = {f"audiobox_{a.lower()}": np.full(len(samples), math.nan) for a in AXES}
        result = MetricResult(per_sample=cols)
        values: dict[int, np.ndarray] = {}
        todo: dict[str, tuple[list[int], np.ndarray]] = {}
        for i, s in enumerate(samples):
            why = audio_problem(s.audio)
            if why:
                for c in cols:
                    result.reasons[(c, i)] = why
                continue
            key = make_key(s.audio.content_hash, self.identity)
            hit = self.cache.get("audiobox", key)
            if hit is not None and hit.shape == (len(AXES),):
                values[i] = hit
            elif key in todo:
                todo[key][0].append(i)
            else:
                todo[key] = ([i], s.audio.resample(SAMPLE_RATE).samples)
        if todo:
            keys = list(todo)
            with loaded_model(self.load) as model:
                for start in range(0, len(keys), self.batch_size):
                    chunk = keys[start : start + self.batch_size]
                    for key, v in zip(
                        chunk, self._scores(model, [todo[k][1] for k in chunk]), strict=True
                    ):
                        self.cache.put("audiobox", key, v)
                        for i in todo[key][0]:
                            values[i] = v
        for i, v in values.items():
            for a, x in zip(AXES, v, strict=True):
                cols[f"audiobox_{a.lower()}"][i] = float(x)
        result.details.update(n_scored=len(values), n_computed=len(todo))
        return result
