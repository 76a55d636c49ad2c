"""Training recipes (SFT 3 steps, GRPO 2 steps, LoRA, resume) and the end-to-end run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fmbench_plugins.hf.tiny import EXAMPLE_PATCH
from fmbench_plugins.hf.training import (
    TrainingError,
    build_grpo_rows,
    build_sft_rows,
    grpo_batch_plan,
    sft_text,
)

from fmbench.cli import main
from fmbench.dataset import DatasetRow, write_dataset
from fmbench.patch.model import Patch

pytest.importorskip("trl")
pytest.importorskip("peft")


def test_sft_targets_are_byte_exact(train_csvs, tiny_model):
    from transformers import AutoTokenizer

    examples, stats = build_sft_rows([train_csvs[0]], [train_csvs[1]])
    assert stats.kept == 8 and stats.reasoning == 4
    pretty = Patch.from_dict({**EXAMPLE_PATCH, "ol": [50, 80, 70, 90, 99, 99], "transpose": -4})
    plain = examples[0]
    assert plain["user"].endswith("### Prompt: a bright electric piano number 0 /no_think")
    assert plain["assistant"] == (
        "<think>\n\n</think>\n```json\n" + pretty.to_pretty_json() + "\n```"
    )
    assert examples[1]["user"].endswith("number 1 /think")
    assert examples[1]["assistant"].startswith(
        '<think>\nbright tone with a fast attack\n</think>\n```json\n{\n  "modmatrix": [\n'
    )
    tok = AutoTokenizer.from_pretrained(tiny_model)
    text = sft_text(tok, plain["user"], plain["assistant"])
    # the chat template turns the single newline after </think> into two
    assert text == (
        f"<|im_start|>user\n{plain['user']}<|im_end|>\n<|im_start|>assistant\n"
        f"<think>\n\n</think>\n\n```json\n{pretty.to_pretty_json()}\n```<|im_end|>"
    )


def test_reasoning_prob(train_csvs):
    ex, stats = build_sft_rows([train_csvs[0]], [train_csvs[1]], reasoning_prob=0.8)
    assert (stats.reasoning, stats.kept) == (4, 5)  # floor(4·0.2/0.8) = 1 plain row kept
    with pytest.raises(TrainingError, match="natural reasoning ratio"):
        build_sft_rows([train_csvs[0]], [train_csvs[1]], reasoning_prob=0.3)


def test_invalid_rows_and_missing_captions(tmp_path, train_csvs):
    from fmbench.dataset import DatasetError

    bad = {**EXAMPLE_PATCH, "feedback": 9}
    rows = [DatasetRow("a", "a.wav", bad), DatasetRow("0", "b.wav", EXAMPLE_PATCH)]
    data = write_dataset(tmp_path / "d.csv", rows)
    with pytest.raises(DatasetError, match="no caption"):
        build_sft_rows([data], [train_csvs[1]])
    write_dataset(data, rows[1:] + [DatasetRow("1", "c.wav", bad)])
    ex, stats = build_sft_rows([data], [train_csvs[1]])
    assert stats.kept == 1 and stats.skipped == {"invalid patch": 1}
    grpo, gstats = build_grpo_rows([data], [train_csvs[1]])
    assert len(grpo) == 1 and gstats.skipped == {"invalid ground truth": 1}
    assert json.loads(grpo[0]["answer"]) == EXAMPLE_PATCH
    assert grpo[0]["prompt"][0]["content"].endswith("number 0 /no_think")


@pytest.mark.parametrize(
    ("batch", "gens", "procs", "accum", "expected"),
    [
        (1, 4, 1, None, (4, 4)),  # the original recipe on one process
        (4, 4, 1, None, (1, 1)),
        (1, 4, 4, None, (1, 1)),  # 4 GPUs × batch 1: as published
        (2, 4, 1, None, (2, 2)),
        (3, 4, 1, None, (4, 4)),
        (1, 4, 1, 2, (2, 4)),  # explicit accumulation kept; generation spans 4 steps
    ],
)
def test_grpo_batch_plan_passes_trl_check(batch, gens, procs, accum, expected):
    got = grpo_batch_plan(batch, gens, processes=procs, grad_accum=accum)
    assert got[:2] == expected
    assert (procs * batch * got[1]) % gens == 0


def _sft(train_csvs, tiny_model, out, **kw):
    from fmbench_plugins.hf.training import train_sft

    return train_sft(
        [train_csvs[0]],
        [train_csvs[1]],
        str(tiny_model),
        out,
        max_steps=3,
        batch_size=2,
        save_steps=2,
        max_length=512,
        log=lambda m: None,
        **kw,
    )


def _grpo(train_csvs, model, out, **kw):
    from fmbench_plugins.hf.training import train_grpo

    return train_grpo(
        [train_csvs[0]],
        [train_csvs[1]],
        str(model),
        out,
        max_steps=2,
        max_completion_length=12,
        save_steps=1,
        log=lambda m: None,
        **kw,
    )


@pytest.fixture(scope="module")
def sft_model(train_csvs, tiny_model, tmp_path_factory):
    """SFT, 3 steps, full fine-tuning: the checkpoint the end-to-end run uses."""
    return _sft(train_csvs, tiny_model, tmp_path_factory.mktemp("sft"))


def test_sft_full_writes_checkpoints_and_final_model(sft_model):
    out = sft_model.parent
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    meta = json.loads((sft_model / "fmbench_training.json").read_text())
    assert meta["steps"] == 3 and meta["template"] == "minimal"
    assert (sft_model / "model.safetensors").is_file()


def test_sft_resume_from_checkpoint(train_csvs, tiny_model, sft_model, tmp_path):
    import shutil

    out = tmp_path / "resumed"
    shutil.copytree(sft_model.parent / "checkpoint-2", out / "checkpoint-2")
    final = _sft(train_csvs, tiny_model, out, resume="latest")
    meta = json.loads((final / "fmbench_training.json").read_text())
    assert meta["steps"] == 3  # continued from step 2, not from 0
    with pytest.raises(TrainingError, match="no checkpoint"):
        _sft(train_csvs, tiny_model, tmp_path / "empty", resume="latest")


def test_sft_lora_responses_only(train_csvs, tiny_model, tmp_path):
    final = _sft(train_csvs, tiny_model, tmp_path / "lora", lora=True, responses_only=True)
    assert final.name == "final_lora"
    assert (final / "adapter_config.json").is_file()


def test_grpo_full_and_lora(train_csvs, sft_model, tmp_path):
    final = _grpo(train_csvs, sft_model, tmp_path / "g", reward="dx7_dist,toolrl_exact")
    meta = json.loads((final / "fmbench_training.json").read_text())
    assert meta["steps"] == 2
    assert meta["batch"]["grad_accum"] == 4 and meta["batch"]["num_generations"] == 4
    lora = _grpo(train_csvs, sft_model, tmp_path / "gl", lora=True, merge_lora=True)
    assert lora.name == "final_model" and (tmp_path / "gl" / "final_lora").is_dir()


def test_grpo_metric_rewards_score_in_a_reward_pool(train_csvs, sft_model, tmp_path, monkeypatch):
    from fmbench_plugins.hf import training

    import fmbench.rewards

    assert training.reward_pool("dx7_dist,toolrl_exact", None) is None
    assert training.reward_pool("metric:rms", 0) is None
    pools = []
    real = fmbench.rewards.RewardPool

    def recording(*args, **kwargs):
        pools.append(real(*args, **kwargs))
        return pools[-1]

    monkeypatch.setattr(fmbench.rewards, "RewardPool", recording)
    final = _grpo(
        train_csvs, sft_model, tmp_path / "gm", reward="dx7_dist,metric:rms", reward_workers=1
    )
    meta = json.loads((final / "fmbench_training.json").read_text())
    assert meta["reward"] == "dx7_dist,metric:rms" and meta["reward_workers"] == 1
    assert len(pools) == 1 and pools[0].workers == 1 and pools[0].closed  # closed at the end


def test_missing_base_model_is_a_clear_error(train_csvs, tmp_path):
    with pytest.raises(TrainingError, match="base model folder not found"):
        _sft(train_csvs, tmp_path / "nope", tmp_path / "o")


def test_cli_train_sft_and_named_generator_run(train_csvs, sft_model, tmp_path, monkeypatch):
    """`fmbench train sft`, then `fmbench run --generator <named hf generator>`."""
    from fmbench.plugins import get_plugins

    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "train",
            "sft",
            "--data",
            str(train_csvs[0]),
            "--captions",
            str(train_csvs[1]),
            "--model",
            str(sft_model),
            "--output",
            str(tmp_path / "cli"),
            "--max-steps",
            "1",
            "--batch-size",
            "2",
            "--lora",
            "--save-steps",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "final_lora" in result.output

    (tmp_path / "fmbench.toml").write_text(
        '[generators.tiny-sft]\ntype = "hf"\n'
        f'model = "{sft_model}"\nmax_new_tokens = 12\nbatch_size = 2\n'
        '[generators.tiny-lora]\ntype = "hf"\nmodel = "./cli/final_lora"\n'
    )
    (tmp_path / "bench.toml").write_text(
        f'name = "tiny"\nversion = "1"\ndescription = "t"\n'
        f'metrics = ["parse_rate", "validity_rate", "dx7_dist"]\n'
        f'[data]\ntest = "{train_csvs[0]}"\ncaptions = "{train_csvs[1]}"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FMBENCH_CONFIG", "")
    get_plugins.cache_clear()
    try:
        listed = runner.invoke(main, ["list", "generators"])
        assert "tiny-sft" in listed.output and str(tmp_path / "fmbench.toml") in listed.output
        result = runner.invoke(
            main,
            [
                "run",
                "-b",
                "bench.toml",
                "-g",
                "tiny-sft",
                "--limit",
                "3",
                "--quiet",
                "--json",
                "--run-dir",
                "run1",
                "--n-boot",
                "10",
            ],
        )
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / "run1" / "summary.json").read_text())
        assert summary["accounting"]["n_items"] == 3
        gens = [
            json.loads(x)
            for x in (tmp_path / "run1" / "generations.jsonl").read_text().splitlines()
        ]
        assert len(gens) == 3
        assert all("response_text" in g["info"] and "think_text" in g["info"] for g in gens)
        assert "parse_rate" in summary["metrics"]
    finally:
        get_plugins.cache_clear()
