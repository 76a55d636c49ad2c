"""Tiny random-weight CLAP models built on the fly (no download), and a model store in tmp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

TEXTS = [
    "a bright metallic bell with a long decay",
    "warm analog pad, slow attack, soft strings",
    "plucked electric piano with a percussive click",
    "deep bass with growl and punchy envelope",
    "Synthesized brass section, bold and brassy",
    "glassy marimba, wooden mallet, short release",
    "organ with rotary speaker and drawbars",
    "the sound of a harpsichord in a small room",
] * 4

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def write_roberta_tokenizer(folder: Path) -> Path:
    """A byte-level BPE vocabulary trained on a few captions: vocab.json + merges.txt."""
    from tokenizers import ByteLevelBPETokenizer

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXTS, vocab_size=400, min_frequency=1, special_tokens=SPECIALS)
    bpe.save_model(str(folder))
    return folder


def tiny_clap_config(vocab_size: int, *, text_hidden: int = 32, fusion: bool = False):
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    audio = ClapAudioConfig(
        patch_embeds_hidden_size=8,
        depths=[1, 1, 1, 1],
        num_attention_heads=[1, 1, 2, 2],
        hidden_size=64,
        window_size=8,
        projection_dim=16,
        enable_fusion=fusion,
    )
    text = ClapTextConfig(
        vocab_size=vocab_size,
        hidden_size=text_hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=80,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        projection_dim=16,
    )
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16)


def build_hf_clap(folder: Path, tok_dir: Path, *, seed: int = 0, fusion: bool = False) -> Path:
    """Save a tiny random ClapModel + ClapProcessor as a Hugging Face folder."""
    import torch
    from transformers import ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    tokenizer = RobertaTokenizer.from_pretrained(str(tok_dir))
    torch.manual_seed(seed)
    model = ClapModel(tiny_clap_config(len(tokenizer), fusion=fusion)).eval()
    model.save_pretrained(str(folder))
    fe = ClapFeatureExtractor(truncation="fusion" if fusion else "rand_trunc")
    ClapProcessor(feature_extractor=fe, tokenizer=tokenizer).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """``{"tokenizer": dir, "hf": dir, "hf_fused": dir}`` built once per session."""
    root = tmp_path_factory.mktemp("tiny_clap")
    tok = write_roberta_tokenizer(root / "roberta-base")
    return {
        "tokenizer": tok,
        "hf": build_hf_clap(root / "tiny-clap-hf", tok),
        "hf_fused": build_hf_clap(root / "tiny-clap-fused", tok, seed=1, fusion=True),
    }


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty model store in tmp (FMBENCH_HOME) and the render/embedding cache off."""
    home = tmp_path / "models"
    monkeypatch.setenv("FMBENCH_HOME", str(home))
    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    from fmbench.modelstore import ModelStore

    return ModelStore(home)
