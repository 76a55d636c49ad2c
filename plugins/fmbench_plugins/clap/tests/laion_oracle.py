"""Run the real ``laion_clap`` package as an oracle on tiny random weights (a subprocess).

Usage: ``python laion_oracle.py WORKDIR`` with ``HF_HOME=WORKDIR/hf`` and
``HF_HUB_OFFLINE=1`` in the environment. WORKDIR must hold ``roberta-base/`` (vocab.json,
merges.txt), ``clips.npy`` (peak-normalised float32 clips, 480 000 samples each) and
``texts.json``. Writes ``laion.pt`` (a checkpoint in LAION's own format) and
``oracle.npz`` (audio and text embeddings computed by ``laion_clap.CLAP_Module``).

laion-clap 1.1.7 is installed ``--no-deps``; it imports torchvision (only for image
transforms it never uses here: a stand-in module is installed below) and loads the
bert/roberta/bart tokenizers and ``roberta-base`` weights from the hub at import and
construction: a fake hub cache under ``$HF_HOME`` provides tiny ones. Its HTSAT is built
with a smaller width/depth than HTSAT-tiny (the converter infers both from the weights).
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path


def _fake_hub(hf_home: Path, tok_dir: Path) -> None:
    import torch
    from transformers import RobertaConfig, RobertaModel

    def snapshot(repo: str) -> Path:
        base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
        snap = base / "snapshots" / ("0" * 40)
        snap.mkdir(parents=True, exist_ok=True)
        (base / "refs").mkdir(exist_ok=True)
        (base / "refs" / "main").write_text("0" * 40)
        return snap

    vocab = json.loads((tok_dir / "vocab.json").read_text())
    for repo in ("roberta-base", "facebook/bart-base"):
        snap = snapshot(repo)
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(tok_dir / name, snap / name)
    snap = snapshot("bert-base-uncased")
    (snap / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]))
    torch.manual_seed(1)
    cfg = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=768,  # laion's text projection is Linear(768, ·)
        num_hidden_layers=1,
        num_attention_heads=12,
        intermediate_size=64,
        max_position_embeddings=80,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    RobertaModel(cfg).save_pretrained(str(snapshot("roberta-base")))


def _torchvision_standin() -> None:
    import torch

    tv = types.ModuleType("torchvision")
    tv.__path__ = []
    tr = types.ModuleType("torchvision.transforms")

    class _Unavailable:
        def __init__(self, *a, **k):
            raise RuntimeError("torchvision stand-in: image transforms are not available")

    for name in ("Resize", "Normalize", "Compose", "CenterCrop", "ToTensor", "RandomResizedCrop"):
        setattr(tr, name, _Unavailable)
    tr.InterpolationMode = types.SimpleNamespace(BICUBIC="bicubic", BILINEAR="bilinear")
    ops = types.ModuleType("torchvision.ops")
    ops.__path__ = []
    misc = types.ModuleType("torchvision.ops.misc")
    misc.FrozenBatchNorm2d = type("FrozenBatchNorm2d", (torch.nn.Module,), {})
    datasets = types.ModuleType("torchvision.datasets")
    tv.transforms, tv.ops, tv.datasets, ops.misc = tr, ops, datasets, misc
    sys.modules.update(
        {
            "torchvision": tv,
            "torchvision.transforms": tr,
            "torchvision.ops": ops,
            "torchvision.ops.misc": misc,
            "torchvision.datasets": datasets,
        }
    )


def main(work: Path) -> None:
    import os

    import numpy as np
    import torch
    import transformers  # noqa: F401 - before the torchvision stand-in (DEPENDENCIES.md)

    work = work.resolve()
    (work / "cwd").mkdir(exist_ok=True)
    os.chdir(work / "cwd")  # from_pretrained("roberta-base") must not see a local folder
    _fake_hub(Path(os.environ["HF_HOME"]), work / "roberta-base")
    _torchvision_standin()
    import laion_clap
    from clap_module import factory, htsat
    from clap_module import model as clap_model

    def tiny_htsat(audio_cfg, enable_fusion=False, fusion_type="None"):
        return htsat.HTSAT_Swin_Transformer(
            spec_size=256,
            patch_size=4,
            patch_stride=(4, 4),
            num_classes=audio_cfg.class_num,
            embed_dim=16,
            depths=[1, 2, 1, 1],
            num_heads=[1, 2, 2, 4],
            window_size=8,
            config=audio_cfg,
            enable_fusion=enable_fusion,
            fusion_type=fusion_type,
        )

    clap_model.create_htsat_model = tiny_htsat
    factory._MODEL_CONFIGS["HTSAT-base"]["embed_dim"] = 16 * 8  # the tiny HTSAT's width
    torch.manual_seed(0)
    module = laion_clap.CLAP_Module(enable_fusion=False, amodel="HTSAT-base", device="cpu")
    sd = module.model.state_dict()
    g = torch.Generator().manual_seed(2)
    for key in ("audio_branch.bn0.running_mean", "audio_branch.bn0.running_var"):
        sd[key] = torch.rand(sd[key].shape, generator=g) * 4 + 0.5  # non-trivial statistics
    sd.setdefault(
        "text_branch.embeddings.position_ids", torch.arange(80).unsqueeze(0)
    )  # laion's load_ckpt deletes it unconditionally
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, work / "laion.pt")
    module.load_ckpt(str(work / "laion.pt"), verbose=False)  # laion's own loader
    clips = np.load(work / "clips.npy")
    texts = json.loads((work / "texts.json").read_text())
    with torch.no_grad():
        audio = module.get_audio_embedding_from_data(x=clips, use_tensor=False)
        text = module.get_text_embedding(texts, use_tensor=False)
    np.savez(work / "oracle.npz", audio=audio, text=text)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
