"""Convert a LAION-CLAP checkpoint (``laion_clap`` package, HTSAT audio encoder, RoBERTa
text encoder, no fusion) into a transformers :class:`~transformers.ClapModel`.

The checkpoint is read with ``torch.load(weights_only=True)``; the configuration is
inferred from the tensor shapes (HTSAT width, depths, heads and window size; RoBERTa
vocabulary, depth and width; the joint projection size), so HTSAT-tiny/base checkpoints
and the tiny random ones of the tests convert alike. RoBERTa's head count is not stored
in the weights: it is ``hidden_size / 64`` as in every RoBERTa.

Tensors that only the LAION training code uses (the torchlibrosa STFT/mel kernels — the
feature extractor computes the same log-mel —, the HTSAT classification head,
``text_transform``/``audio_transform``) are dropped; every parameter of the transformers
model must be filled, otherwise the checkpoint is rejected as the wrong architecture.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from fmbench.modelstore import ModelFileError, load_torch_checkpoint

_DROP_PREFIXES = (
    "audio_branch.spectrogram_extractor.",
    "audio_branch.logmel_extractor.",
    "audio_branch.tscam_conv.",
    "audio_branch.head.",
    "text_transform.",
    "audio_transform.",
)
_BUFFERS = (
    "position_ids",
    "token_type_ids",
    "relative_position_index",
    "num_batches_tracked",
    "attn_mask",
)
_BLOCK = re.compile(r"^audio_branch\.layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_BLOCK_MAP = {
    "norm1.": "layernorm_before.",
    "norm2.": "layernorm_after.",
    "attn.proj.": "attention.output.dense.",
    "attn.relative_position_bias_table": "attention.self.relative_position_bias_table",
    "mlp.fc1.": "intermediate.dense.",
    "mlp.fc2.": "output.dense.",
}


def laion_state_dict(path: str | Path) -> dict[str, Any]:
    """The plain state dict of a LAION-CLAP checkpoint (``module.`` prefixes removed)."""
    ckpt = load_torch_checkpoint(path)
    sd = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict) or not sd:
        raise ModelFileError(f"{path} is not a LAION-CLAP checkpoint (no state dict found)")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in sd.items()}


def _check_architecture(sd: dict[str, Any], path: str | Path) -> None:
    if any("fusion_model" in k or "mel_conv2d" in k for k in sd):
        raise ModelFileError(
            f"{path} is a LAION-CLAP *fusion* checkpoint; only unfused HTSAT checkpoints "
            "(e.g. music_audioset_epoch_15_esc_90.14.pt) convert. Use a Hugging Face CLAP "
            "folder (e.g. laion/clap-htsat-fused) with model=PATH instead."
        )
    needed = (
        "audio_branch.patch_embed.proj.weight",
        "audio_branch.norm.weight",
        "audio_projection.0.weight",
        "text_branch.embeddings.word_embeddings.weight",
        "text_projection.0.weight",
    )
    missing = [k for k in needed if k not in sd]
    if missing:
        raise ModelFileError(
            f"{path} is not an HTSAT + RoBERTa LAION-CLAP checkpoint (wrong architecture): "
            f"missing {', '.join(missing)}"
        )


def infer_config(sd: dict[str, Any]) -> Any:
    """A :class:`transformers.ClapConfig` matching the LAION state dict's shapes."""
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    n_layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("audio_branch.layers."))
    depths, heads = [], []
    window = None
    for i in range(n_layers):
        blocks = {int(m.group(2)) for k in sd if (m := _BLOCK.match(k)) and int(m.group(1)) == i}
        depths.append(len(blocks))
        table = sd[f"audio_branch.layers.{i}.blocks.0.attn.relative_position_bias_table"]
        heads.append(int(table.shape[1]))
        window = (math.isqrt(int(table.shape[0])) + 1) // 2
    proj = sd["audio_branch.patch_embed.proj.weight"]
    embed = int(proj.shape[0])
    fc1 = sd["audio_branch.layers.0.blocks.0.mlp.fc1.weight"]
    joint = int(sd["audio_projection.0.weight"].shape[0])
    audio = ClapAudioConfig(
        window_size=window,
        num_mel_bins=int(sd["audio_branch.bn0.weight"].shape[0]),
        spec_size=256,
        patch_size=int(proj.shape[-1]),
        patch_stride=[int(proj.shape[-2]), int(proj.shape[-1])],
        patch_embed_input_channels=int(proj.shape[1]),
        patch_embeds_hidden_size=embed,
        hidden_size=int(sd["audio_branch.norm.weight"].shape[0]),
        depths=depths,
        num_attention_heads=heads,
        mlp_ratio=float(fc1.shape[0]) / embed,
        enable_fusion=False,
        projection_dim=joint,
        projection_hidden_act="relu",
        layer_norm_eps=1e-5,
    )
    words = sd["text_branch.embeddings.word_embeddings.weight"]
    hidden = int(words.shape[1])
    n_text = 1 + max(int(k.split(".")[3]) for k in sd if k.startswith("text_branch.encoder.layer."))
    text = ClapTextConfig(
        vocab_size=int(words.shape[0]),
        hidden_size=hidden,
        num_hidden_layers=n_text,
        num_attention_heads=max(1, hidden // 64),
        intermediate_size=int(sd["text_branch.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        max_position_embeddings=int(
            sd["text_branch.embeddings.position_embeddings.weight"].shape[0]
        ),
        type_vocab_size=int(sd["text_branch.embeddings.token_type_embeddings.weight"].shape[0]),
        layer_norm_eps=1e-5,
        hidden_act="gelu",
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        projection_dim=joint,
        projection_hidden_act="relu",
    )
    return ClapConfig(
        text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=joint
    )


def map_key(key: str, value: Any) -> dict[str, Any]:
    """The transformers key(s) for one LAION key ({} when the tensor is dropped)."""
    if key.startswith(_DROP_PREFIXES) or key.endswith(_BUFFERS):
        return {}
    for branch in ("text_projection", "audio_projection"):
        for old, new in ((".0.", ".linear1."), (".2.", ".linear2.")):
            if key.startswith(branch + old):
                return {branch + new + key[len(branch + old) :]: value}
    if key.startswith("text_branch."):
        return {"text_model." + key[len("text_branch.") :]: value}
    enc = "audio_model.audio_encoder."
    if key.startswith("audio_branch.bn0."):
        return {enc + "batch_norm." + key[len("audio_branch.bn0.") :]: value}
    m = _BLOCK.match(key)
    if m:
        prefix = f"{enc}layers.{m.group(1)}.blocks.{m.group(2)}."
        rest = m.group(3)
        if rest.startswith("attn.qkv."):
            q, k, v = value.chunk(3, dim=0)
            kind = rest[len("attn.qkv.") :]
            return {
                f"{prefix}attention.self.query.{kind}": q,
                f"{prefix}attention.self.key.{kind}": k,
                f"{prefix}attention.self.value.{kind}": v,
            }
        for old, new in _BLOCK_MAP.items():
            if rest.startswith(old):
                return {prefix + new + rest[len(old) :]: value}
        return {prefix + rest: value}
    if key.startswith("audio_branch."):
        return {enc + key[len("audio_branch.") :]: value}
    return {key: value}  # logit_scale_a / logit_scale_t


def load_laion_checkpoint(path: str | Path) -> Any:
    """A transformers ``ClapModel`` (eval mode, CPU) holding the weights of a LAION-CLAP
    ``.pt`` checkpoint; a corrupted file or another architecture raises
    :class:`~fmbench.modelstore.ModelFileError` naming the file."""
    from transformers import ClapModel

    sd = laion_state_dict(path)
    _check_architecture(sd, path)
    try:
        config = infer_config(sd)
        model = ClapModel(config)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelFileError(f"{path}: cannot infer a CLAP configuration ({exc})") from None
    mapped: dict[str, Any] = {}
    for key, value in sd.items():
        mapped.update(map_key(key, value))
    try:
        result = model.load_state_dict(mapped, strict=False)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ModelFileError(
            f"{path}: tensor shapes do not match an HTSAT/RoBERTa CLAP (wrong architecture): "
            f"{' '.join(first[:3])[:400]}"
        ) from None
    missing = [k for k in result.missing_keys if not k.endswith(_BUFFERS)]
    if missing or result.unexpected_keys:
        raise ModelFileError(
            f"{path}: not a LAION-CLAP HTSAT/RoBERTa checkpoint (wrong architecture): "
            f"missing {missing[:5]}, unexpected {list(result.unexpected_keys)[:5]}"
        )
    return model.eval()
