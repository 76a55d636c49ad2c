"""`fmbench train sft|grpo`: fine-tune causal LMs with trl (docs/prompts-and-training.md).

Thin: options are parsed here, the work is :mod:`fmbench_plugins.hf.training` (extra ``train``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fmbench.errors import FmbenchError

_PATH = click.Path(path_type=Path)


def _training() -> Any:
    import importlib.util

    missing = [
        m
        for m in ("torch", "transformers", "peft", "trl", "datasets")
        if not importlib.util.find_spec(m)
    ]
    if missing:
        raise FmbenchError(
            f"training needs the 'train' extra ({', '.join(missing)} missing): "
            "pip install 'fmbench[train]'; on a CPU-only machine install torch first with "
            "pip install torch --index-url https://download.pytorch.org/whl/cpu"
        )
    from fmbench_plugins.hf import training

    return training


def _common(fn: Any) -> Any:
    options = [
        click.option(
            "--data",
            "data",
            multiple=True,
            required=True,
            type=_PATH,
            help="Dataset CSV (docs/datasets.md); repeatable.",
        ),
        click.option(
            "--captions",
            multiple=True,
            required=True,
            type=_PATH,
            help="Captions CSV: one for all data CSVs, or one per --data.",
        ),
        click.option(
            "--model", required=True, help="Base model folder (or hub id with --allow-hub)."
        ),
        click.option("--output", "-o", required=True, type=_PATH, help="Output folder."),
        click.option(
            "--template",
            default="minimal",
            show_default=True,
            help="Prompt template: 'minimal' or a template file.",
        ),
        click.option(
            "--filter",
            "filter_rows",
            is_flag=True,
            help="Drop inaudible rows and names containing NULL.",
        ),
        click.option("--lora", is_flag=True, help="Train a LoRA adapter (rank 32, alpha 64)."),
        click.option("--lora-rank", type=int, default=32, show_default=True),
        click.option("--lora-alpha", type=int, default=64, show_default=True),
        click.option("--lora-dropout", type=float, default=0.0, show_default=True),
        click.option(
            "--merge-lora", is_flag=True, help="Also save the merged model (final_model)."
        ),
        click.option("--lr", type=float, help="Learning rate (default: the recipe's)."),
        click.option("--save-steps", type=int, help="Checkpoint every N steps."),
        click.option("--save-total-limit", type=int, default=2, show_default=True),
        click.option("--seed", type=int, default=3407, show_default=True),
        click.option(
            "--optim", help="Optimizer (default adamw_torch; adamw_8bit needs bitsandbytes)."
        ),
        click.option(
            "--resume",
            help="Resume: 'latest' (last checkpoint in --output) or a checkpoint folder.",
        ),
        click.option("--allow-hub", is_flag=True, help="Allow a hub id for --model."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _clean(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


@click.group("train")
def train_group() -> None:
    """Fine-tune a causal LM on DX7 patches: supervised (sft) or with rewards (grpo)."""


@train_group.command("sft")
@_common
@click.option("--reasoning-prob", type=float, help="Target share of reasoning (cot) rows.")
@click.option("--responses-only", is_flag=True, help="Loss on the assistant turn only.")
@click.option("--max-steps", type=int, default=-1, show_default=True, help="-1: whole epochs.")
@click.option("--epochs", type=float, default=1.0, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--grad-accum", type=int, default=1, show_default=True)
@click.option("--warmup-steps", type=float, default=100, show_default=True)
@click.option("--max-length", type=int, default=2048, show_default=True)
def sft_cmd(data, captions, model, output, **kwargs: Any) -> None:
    """Supervised fine-tuning on byte-exact SFT targets (docs/prompts-and-training.md).

    \b
    Example:
      fmbench train sft --data train.csv --captions captions.csv \\
          --model ./Qwen3-8B --output ckpt/sft --lora --max-steps 1000
    """
    training = _training()
    final = training.train_sft(
        list(data),
        list(captions),
        model,
        output,
        log=lambda m: click.echo(m, err=True),
        **_clean(kwargs),
    )
    click.echo(f"final model: {final}")


@train_group.command("grpo")
@_common
@click.option(
    "--reward",
    default="dx7_dist",
    show_default=True,
    help="Comma-separated: dx7_dist, toolrl_exact, *_topology_gate, metric:NAME.",
)
@click.option(
    "--key-weights-json", help="dx7_dist key weights, a JSON object merged over the defaults."
)
@click.option(
    "--reward-workers",
    type=click.IntRange(min=0),
    help="Processes that render and score metric:NAME rewards, kept for the whole run "
    "(default: the usable cores; 0: in the training process).",
)
@click.option(
    "--think-control",
    type=click.Choice(["auto", "think", "no_think", "none"]),
    default="no_think",
    show_default=True,
)
@click.option("--enable-thinking", is_flag=True, help="Chat template with thinking on.")
@click.option("--pool-size", type=int, default=4096, show_default=True)
@click.option("--length-quantile", type=float, default=0.90, show_default=True)
@click.option("--max-seq-length", type=int, default=2048, show_default=True)
@click.option("--max-completion-length", type=int)
@click.option("--max-steps", type=int, default=2000, show_default=True)
@click.option("--batch-size", type=int, default=1, show_default=True)
@click.option("--grad-accum", type=int, help="Default: the smallest value passing trl's check.")
@click.option("--num-generations", type=int, default=4, show_default=True)
@click.option("--beta", type=float, default=0.0, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True)
def grpo_cmd(data, captions, model, output, key_weights_json, **kwargs: Any) -> None:
    """GRPO with trl: the rewards and defaults of docs/prompts-and-training.md.

    \b
    Example:
      fmbench train grpo --data train.csv --captions captions.csv \\
          --model ckpt/sft/final_model --output ckpt/grpo --reward dx7_dist --lora
    """
    training = _training()
    weights = None
    if key_weights_json:
        try:
            weights = json.loads(key_weights_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--key-weights-json") from None
        if not isinstance(weights, dict):
            raise click.BadParameter("expected a JSON object", param_hint="--key-weights-json")
    final = training.train_grpo(
        list(data),
        list(captions),
        model,
        output,
        key_weights=weights,
        log=lambda m: click.echo(m, err=True),
        **_clean(kwargs),
    )
    click.echo(f"final model: {final}")
