"""Fixtures: a tiny Qwen3-style checkpoint built on the fly, and tiny training CSVs."""

from __future__ import annotations

import copy
import os

import pytest

for _var, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("HF_DATASETS_OFFLINE", "1"),
    ("WANDB_MODE", "disabled"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_var, _value)

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random Qwen3 checkpoint with a ChatML + think chat template."""
    from fmbench_plugins.hf.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory):
    from fmbench_plugins.hf.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "plain", chat_template=False)


@pytest.fixture(scope="session")
def train_csvs(tmp_path_factory):
    """(data CSV, captions CSV): 8 valid voices, every second one with a cot."""
    from fmbench_plugins.hf.tiny import EXAMPLE_PATCH as GT

    from fmbench.dataset import DatasetRow, write_captions, write_dataset

    folder = tmp_path_factory.mktemp("data")
    rows, caps = [], {}
    for i in range(8):
        p = copy.deepcopy(GT)
        p["ol"][0] = 50 + i
        p["transpose"] = i - 4
        cot = "bright tone with a fast attack" if i % 2 else ""
        rows.append(DatasetRow(str(i), f"x/{i}.wav", p, name=f"VOICE {i}", extra={"cot": cot}))
        caps[str(i)] = f"a bright electric piano number {i}  "
    return write_dataset(folder / "train.csv", rows), write_captions(folder / "caps.csv", caps)
