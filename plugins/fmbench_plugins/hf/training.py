"""SFT and GRPO training with trl; the library behind ``fmbench train``.

Targets, data, rewards and defaults: docs/prompts-and-training.md.

Data: dataset CSVs (docs/datasets.md) joined by id with captions CSVs (:mod:`fmbench.dataset`).

**SFT** (:func:`build_sft_rows`, :func:`train_sft`): user turn = template filled with
``caption.rstrip() + " /think"`` (reasoning row: non-blank ``cot`` in the *data* CSV) or
``" /no_think"``; assistant = ``<think>\\n{cot}\\n</think>`` (or ``<think>\\n\\n</think>``),
a newline, then the fenced pretty patch (docs/patch-format.md#serialized-forms). The text is
rendered with the tokenizer's chat template (``enable_thinking=True``, no generation
prompt). The loss covers the whole text, like the original recipe, unless ``responses_only``
(then a prompt/completion split at the generation prompt masks the user turn).

**GRPO** (:func:`build_grpo_rows`, :func:`train_grpo`): a shuffled pool of prompts (seed
3407, ``pool_size``), GT that fails the reward loading rules skipped, prompts longer than
the ``length_quantile`` token quantile dropped; ``answer`` = compact canonical GT JSON;
rewards from :mod:`fmbench.rewards`; the original defaults. :func:`grpo_batch_plan` makes
the batch configuration pass trl's check that every generation batch holds whole prompt
groups (the original single-process "batch 1, 4 generations" recipe fails it).

Checkpoints go to ``OUTPUT/checkpoint-N`` (``save_steps``, keeping ``save_total_limit``)
and resume with ``resume="latest"`` or a checkpoint path; the final model goes to
``OUTPUT/final_model`` (or ``OUTPUT/final_lora`` for a LoRA adapter; ``merge_lora`` also
writes the merged ``final_model``), with the tokenizer and ``fmbench_training.json``
(the prompt template hash and every setting).

Deviations from the original recipe, on purpose: the optimizer defaults to ``adamw_torch``
(``adamw_8bit`` needs bitsandbytes and CUDA: pass ``optim="adamw_8bit"`` there); SFT rows
whose patch fails the strict patch check are skipped and counted (the pretty form is
defined for valid patches); the rendered SFT text ends at the final end-of-turn token,
so trl does not append a second one.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.errors import FmbenchError
from fmbench_plugins.hf.prompt import MINIMAL_TEMPLATE, PromptTemplate, load_template, think_suffix

__all__ = [
    "LORA_TARGETS",
    "DataStats",
    "TrainingError",
    "build_grpo_rows",
    "build_sft_rows",
    "grpo_batch_plan",
    "sft_assistant_text",
    "sft_text",
    "train_grpo",
    "train_sft",
]

#: LoRA target modules: every attention and MLP projection
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SEED = 3407


class TrainingError(FmbenchError):
    """Training inputs or settings that cannot be used; the message says which."""


@dataclass
class DataStats:
    """What data preparation kept and skipped (printed by the CLI, saved with the model)."""

    rows: int = 0
    kept: int = 0
    reasoning: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def describe(self) -> str:
        text = f"{self.kept} of {self.rows} rows ({self.reasoning} with reasoning)"
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{n} {r}" for r, n in self.skipped.items())
        return text


# -- data ------------------------------------------------------------------------------
def _pairs(data: Sequence[str | os.PathLike[str]], captions: Sequence[str | os.PathLike[str]]):
    data, captions = list(data), list(captions)
    if not data:
        raise TrainingError("no data CSV given (--data)")
    if len(captions) == 1:
        captions = captions * len(data)
    if len(captions) != len(data):
        raise TrainingError(
            f"give one captions CSV, or one per data CSV ({len(data)} data, {len(captions)} captions)"
        )
    return list(zip(data, captions, strict=True))


def _joined_rows(data, captions, *, filter_rows: bool, stats: DataStats):
    """(row, caption) for every data row, joined by id; a missing caption aborts."""
    from fmbench.dataset import DatasetError, read_captions, read_dataset

    out = []
    for data_csv, captions_csv in _pairs(data, captions):
        rows = read_dataset(data_csv)
        caps = read_captions(captions_csv)
        for r in rows:
            stats.rows += 1
            if filter_rows and (r.inaudible or "NULL" in r.name):
                stats.skip("filtered (inaudible or NULL name)")
                continue
            if r.id not in caps:
                raise DatasetError(
                    f"{data_csv}, line {r.line} (id {r.id}): no caption in {captions_csv}"
                )
            out.append((r, caps[r.id]))
    return out


def sft_assistant_text(patch: Any, cot: str | None = None) -> str:
    """The SFT assistant message: think block, newline, fenced pretty JSON."""
    think = f"<think>\n{cot.strip()}\n</think>" if cot and cot.strip() else "<think>\n\n</think>"
    return f"{think}\n```json\n{patch.to_pretty_json()}\n```"


def build_sft_rows(
    data: Sequence[str | os.PathLike[str]],
    captions: Sequence[str | os.PathLike[str]],
    *,
    template: PromptTemplate = MINIMAL_TEMPLATE,
    reasoning_prob: float | None = None,
    filter_rows: bool = False,
    seed: int = SEED,
) -> tuple[list[dict[str, str]], DataStats]:
    """SFT examples ``{"id", "user", "assistant"}`` and the data statistics."""
    from fmbench.patch.canonical import canonicalize
    from fmbench.patch.errors import InvalidPatchError, PatchParseError
    from fmbench.patch.model import Patch

    stats = DataStats()
    has_cot = False
    examples: list[tuple[dict[str, str], bool]] = []
    for row, caption in _joined_rows(data, captions, filter_rows=filter_rows, stats=stats):
        has_cot = has_cot or "cot" in row.extra
        try:
            patch = Patch.from_dict(canonicalize(row.patch_data, require_all=True))
        except (PatchParseError, InvalidPatchError):
            stats.skip("invalid patch")
            continue
        cot = row.extra.get("cot", "")
        reasoning = bool(cot and cot.strip())
        suffix = think_suffix("think" if reasoning else "no_think")
        example = {
            "id": row.id,
            "user": template.fill(caption.rstrip() + suffix),
            "assistant": sft_assistant_text(patch, cot if reasoning else None),
        }
        examples.append((example, reasoning))
    if reasoning_prob is not None and has_cot:
        p = float(reasoning_prob)
        if not 0 < p <= 1:
            raise TrainingError(f"--reasoning-prob must be in (0, 1], got {p}")
        with_cot = [e for e, r in examples if r]
        without = [e for e, r in examples if not r]
        # + 1e-9: 4·(1 − 0.8)/0.8 is 0.999… in floating point; the intent is 1
        keep = math.floor(len(with_cot) * (1 - p) / p + 1e-9)
        if not with_cot:
            raise TrainingError("--reasoning-prob: the data has a cot column but no reasoning rows")
        if keep > len(without):
            natural = len(with_cot) / (len(with_cot) + len(without))
            raise TrainingError(
                f"--reasoning-prob {p} is below the natural reasoning ratio {natural:.3f} "
                f"({len(with_cot)} of {len(examples)} rows); only non-reasoning rows can be dropped"
            )
        kept_ids = {id(e) for e in random.Random(seed).sample(without, keep)}
        for e, r in examples:
            if not r and id(e) not in kept_ids:
                stats.skip("dropped for --reasoning-prob")
        examples = [(e, r) for e, r in examples if r or id(e) in kept_ids]
    stats.kept = len(examples)
    stats.reasoning = sum(r for _, r in examples)
    if not examples:
        raise TrainingError(f"no training rows left ({stats.describe()})")
    return [e for e, _ in examples], stats


def sft_text(tokenizer: Any, user: str, assistant: str) -> str:
    """One SFT training text: the chat template over (user, assistant), thinking on."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        tokenize=False,
        add_generation_prompt=False,
        enable_thinking=True,
    )
    eos = tokenizer.eos_token
    if eos and text.rstrip().endswith(eos):
        text = text.rstrip()
    return text


def _sft_prompt_completion(tokenizer: Any, user: str, assistant: str) -> dict[str, str]:
    text = sft_text(tokenizer, user, assistant)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": user}],
        tokenize=False,
        add_generation_prompt=True,
        enable_thinking=True,
    )
    if not text.startswith(prompt):
        raise TrainingError(
            "--responses-only: the chat template does not render the user turn as a prefix "
            "of the full conversation; cannot mask the prompt"
        )
    return {"prompt": prompt, "completion": text[len(prompt) :]}


def build_grpo_rows(
    data: Sequence[str | os.PathLike[str]],
    captions: Sequence[str | os.PathLike[str]],
    *,
    template: PromptTemplate = MINIMAL_TEMPLATE,
    think_control: str = "no_think",
    enable_thinking: bool = False,
    filter_rows: bool = False,
    pool_size: int | None = 4096,
    seed: int = SEED,
) -> tuple[list[dict[str, Any]], DataStats]:
    """GRPO prompts ``{"prompt": [user message], "answer", "id", "caption"}``,
    before the length filter (see :func:`train_grpo`)."""
    from fmbench.rewards import load_answer

    stats = DataStats()
    joined = _joined_rows(data, captions, filter_rows=filter_rows, stats=stats)
    random.Random(seed).shuffle(joined)
    if pool_size is not None and pool_size > 0:
        for _ in joined[pool_size:]:
            stats.skip("beyond --pool-size")
        joined = joined[:pool_size]
    suffix = think_suffix(think_control, enable_thinking)
    rows = []
    for row, caption in joined:
        if not caption.strip():
            stats.skip("empty caption")
            continue
        gt = load_answer(row.patch_data)
        if gt is None:
            stats.skip("invalid ground truth")
            continue
        rows.append(
            {
                "prompt": [{"role": "user", "content": template.fill(caption.rstrip() + suffix)}],
                "answer": json.dumps(gt, separators=(",", ":")),
                "id": row.id,
                "caption": caption,
            }
        )
    stats.kept = len(rows)
    if not rows:
        raise TrainingError(f"no GRPO prompts left ({stats.describe()})")
    return rows, stats


def grpo_batch_plan(
    per_device_batch: int,
    num_generations: int,
    *,
    processes: int = 1,
    grad_accum: int | None = None,
) -> tuple[int, int, str]:
    """``(gradient_accumulation_steps, steps_per_generation, note)`` passing trl's check.

    trl generates ``processes × per_device_batch × steps_per_generation`` completions per
    generation batch and requires that number to be divisible by ``num_generations`` (whole
    prompt groups). When ``grad_accum`` is not given, the accumulation is raised to the
    smallest value that satisfies it — the original "batch 1, 4 generations" on one process
    becomes accumulation 4, i.e. one optimizer step per prompt group, the same data per
    step as the original multi-GPU run. An explicit ``grad_accum`` is kept and only
    ``steps_per_generation`` grows to the smallest valid multiple of it.
    """
    if per_device_batch < 1 or num_generations < 2 or processes < 1:
        raise TrainingError("per-device batch >= 1, num_generations >= 2 and processes >= 1")
    per_step = processes * per_device_batch
    need = num_generations // math.gcd(per_step, num_generations)  # smallest valid factor
    if grad_accum is None:
        accum = need
        note = (
            ""
            if need == 1
            else f"gradient accumulation set to {need} so that each generation batch "
            f"({per_step}×{need} completions) holds whole groups of {num_generations}"
        )
        return accum, accum, note
    if grad_accum < 1:
        raise TrainingError("gradient accumulation must be >= 1")
    steps = grad_accum
    while (per_step * steps) % num_generations:
        steps += grad_accum
    note = (
        ""
        if steps == grad_accum
        else f"steps_per_generation set to {steps} (generation batch {per_step * steps} "
        f"must be divisible by num_generations {num_generations})"
    )
    return grad_accum, steps, note


# -- models ----------------------------------------------------------------------------
def _precision() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return {"use_cpu": not cuda, "bf16": bf16, "dtype": torch.bfloat16 if bf16 else torch.float32}


def _load(model: str, *, allow_hub: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(model).expanduser()
    if not path.is_dir() and not allow_hub:
        raise TrainingError(f"base model folder not found: {path.resolve()}")
    source = str(path) if path.is_dir() else model
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as exc:  # noqa: BLE001
        raise TrainingError(f"cannot load the tokenizer from {source}: {exc}") from None
    if not getattr(tokenizer, "chat_template", None):
        raise TrainingError(
            f"the tokenizer in {source} has no chat template (docs/prompts-and-training.md)"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    try:
        lm = AutoModelForCausalLM.from_pretrained(source, dtype=_precision()["dtype"])
    except Exception as exc:  # noqa: BLE001
        raise TrainingError(f"cannot load the model from {source}: {exc}") from None
    return lm, tokenizer


def _prompt_tokens(tokenizer: Any, messages: list[dict[str, str]], enable_thinking: bool) -> int:
    """Token length of the chat-templated prompt with the generation prompt."""
    text = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking
    )
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _lora_config(lora: bool, rank: int, alpha: int, dropout: float) -> Any:
    """The trainer's ``peft_config``: a LoRA config, or ``None`` without LoRA."""
    if not lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(LORA_TARGETS),
        task_type="CAUSAL_LM",
    )


def _resume_arg(resume: str | bool | None, output: Path) -> Any:
    if not resume:
        return None
    if resume is True or resume == "latest":
        if not any(output.glob("checkpoint-*")):
            raise TrainingError(f"--resume latest: no checkpoint-* folder in {output}")
        return True
    path = Path(str(resume)).expanduser()
    if not path.is_dir():
        raise TrainingError(f"--resume: checkpoint folder not found: {path.resolve()}")
    return str(path)


def _lora_meta(lora: bool, rank: int, alpha: int, dropout: float) -> dict[str, Any] | None:
    """The ``lora`` entry of ``fmbench_training.json``."""
    return {"rank": rank, "alpha": alpha, "dropout": dropout} if lora else None


def _train_and_save(
    trainer: Any, tokenizer: Any, output: Path, resume: Any, lora: bool, merge: bool, meta: dict
) -> Path:
    """Train (from checkpoint ``resume``), add the step count to ``meta``, save the model
    (and, with LoRA and ``merge``, the merged model); return the folder to use."""
    trainer.train(resume_from_checkpoint=resume)
    meta["steps"] = trainer.state.global_step
    final = output / ("final_lora" if lora else "final_model")
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    (final / "fmbench_training.json").write_text(json.dumps(meta, indent=2, default=str))
    if lora and merge:
        merged_dir = output / "final_model"
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(str(merged_dir))
        tokenizer.save_pretrained(str(merged_dir))
        (merged_dir / "fmbench_training.json").write_text(json.dumps(meta, indent=2, default=str))
        return merged_dir
    return final


def _common_args(
    *,
    output: Path,
    max_steps: int,
    epochs: float,
    batch_size: int,
    lr: float,
    weight_decay: float,
    warmup: float,
    save_steps: int,
    save_total_limit: int,
    seed: int,
    optim: str | None,
) -> dict[str, Any]:
    prec = _precision()
    return {
        "output_dir": str(output),
        "max_steps": max_steps,
        "num_train_epochs": epochs,
        "per_device_train_batch_size": batch_size,
        "learning_rate": lr,
        "weight_decay": weight_decay,
        "warmup_steps": warmup,
        "lr_scheduler_type": "linear",
        "logging_steps": 1,
        "save_steps": save_steps,
        "save_total_limit": save_total_limit,
        "seed": seed,
        "optim": optim or "adamw_torch",
        "report_to": "none",
        "use_cpu": prec["use_cpu"],
        "bf16": prec["bf16"],
        "disable_tqdm": True,
    }


def train_sft(
    data: Sequence[str | os.PathLike[str]],
    captions: Sequence[str | os.PathLike[str]],
    model: str,
    output: str | os.PathLike[str],
    *,
    template: str | os.PathLike[str] = "minimal",
    reasoning_prob: float | None = None,
    filter_rows: bool = False,
    responses_only: bool = False,
    lora: bool = False,
    lora_rank: int = 32,
    lora_alpha: int = 64,
    lora_dropout: float = 0.0,
    merge_lora: bool = False,
    max_steps: int = -1,
    epochs: float = 1.0,
    batch_size: int = 8,
    grad_accum: int = 1,
    lr: float = 1e-4,
    warmup_steps: float = 100,
    weight_decay: float = 0.01,
    max_length: int = 2048,
    save_steps: int = 500,
    save_total_limit: int = 2,
    seed: int = SEED,
    optim: str | None = None,
    resume: str | bool | None = None,
    allow_hub: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Supervised fine-tuning on the SFT targets (docs/prompts-and-training.md#sft-targets);
    returns the final model folder."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    output = Path(output)
    resume_arg = _resume_arg(resume, output)
    tmpl = load_template(template)
    examples, stats = build_sft_rows(
        data,
        captions,
        template=tmpl,
        reasoning_prob=reasoning_prob,
        filter_rows=filter_rows,
        seed=seed,
    )
    log(f"SFT data: {stats.describe()}")
    lm, tokenizer = _load(model, allow_hub=allow_hub)
    if responses_only:
        records = [_sft_prompt_completion(tokenizer, e["user"], e["assistant"]) for e in examples]
    else:
        records = [{"text": sft_text(tokenizer, e["user"], e["assistant"])} for e in examples]
    args = SFTConfig(
        **_common_args(
            output=output,
            max_steps=max_steps,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            warmup=warmup_steps,
            save_steps=save_steps,
            save_total_limit=save_total_limit,
            seed=seed,
            optim=optim,
        ),
        gradient_accumulation_steps=grad_accum,
        max_length=max_length,
        completion_only_loss=True if responses_only else None,
    )
    trainer = SFTTrainer(
        model=lm,
        args=args,
        train_dataset=Dataset.from_list(records),
        processing_class=tokenizer,
        peft_config=_lora_config(lora, lora_rank, lora_alpha, lora_dropout),
    )
    meta = {
        "recipe": "sft",
        "base_model": model,
        "template": tmpl.name,
        "template_sha256": tmpl.sha256,
        "data": stats.describe(),
        "lora": _lora_meta(lora, lora_rank, lora_alpha, lora_dropout),
        "responses_only": responses_only,
        "reasoning_prob": reasoning_prob,
    }
    return _train_and_save(trainer, tokenizer, output, resume_arg, lora, merge_lora, meta)


def reward_pool(reward: str, workers: int | None) -> Any:
    """A :class:`fmbench.rewards.RewardPool` for the ``metric:NAME`` rewards in ``reward``
    (``workers`` processes, default the usable cores), or None when there are none or
    ``workers`` is 0 (they then score in this process)."""
    from fmbench.rewards import RewardPool

    specs = [s.strip() for s in reward.split(",")]
    if workers == 0 or not any(s.startswith("metric:") for s in specs):
        return None
    return RewardPool(workers)


def train_grpo(
    data: Sequence[str | os.PathLike[str]],
    captions: Sequence[str | os.PathLike[str]],
    model: str,
    output: str | os.PathLike[str],
    *,
    reward: str = "dx7_dist",
    key_weights: dict[str, float] | None = None,
    reward_workers: int | None = None,
    template: str | os.PathLike[str] = "minimal",
    think_control: str = "no_think",
    enable_thinking: bool = False,
    filter_rows: bool = False,
    pool_size: int | None = 4096,
    length_quantile: float = 0.90,
    max_seq_length: int = 2048,
    max_completion_length: int | None = None,
    lora: bool = False,
    lora_rank: int = 32,
    lora_alpha: int = 64,
    lora_dropout: float = 0.0,
    merge_lora: bool = False,
    max_steps: int = 2000,
    batch_size: int = 1,
    grad_accum: int | None = None,
    num_generations: int = 4,
    lr: float = 5e-6,
    weight_decay: float = 0.001,
    warmup_ratio: float = 0.1,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    min_p: float | None = 0.1,
    beta: float = 0.0,
    loss_type: str = "dapo",
    scale_rewards: str = "group",
    save_steps: int = 200,
    save_total_limit: int = 2,
    seed: int = SEED,
    optim: str | None = None,
    resume: str | bool | None = None,
    allow_hub: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """GRPO with the original defaults (docs/prompts-and-training.md#grpo-defaults); returns
    the final model folder.

    ``metric:NAME`` rewards render and score in a :class:`fmbench.rewards.RewardPool` of
    ``reward_workers`` persistent processes (default: the usable cores; 0 scores in the
    training process), started before the model loads and closed when training ends.
    """
    import numpy as np
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from fmbench.rewards import reward_functions

    output = Path(output)
    resume_arg = _resume_arg(resume, output)
    pool = reward_pool(reward, reward_workers)
    try:
        rewards = reward_functions(reward, key_weights=key_weights, pool=pool)
        tmpl = load_template(template)
        rows, stats = build_grpo_rows(
            data,
            captions,
            template=tmpl,
            think_control=think_control,
            enable_thinking=enable_thinking,
            filter_rows=filter_rows,
            pool_size=pool_size,
            seed=seed,
        )
        lm, tokenizer = _load(model, allow_hub=allow_hub)
        tokenizer.padding_side = "left"
        lengths = [_prompt_tokens(tokenizer, r["prompt"], enable_thinking) for r in rows]
        l_q = int(np.quantile(lengths, length_quantile))
        kept = [r for r, n in zip(rows, lengths, strict=True) if n <= l_q]
        for _ in range(len(rows) - len(kept)):
            stats.skip(f"prompt longer than the {length_quantile} quantile ({l_q} tokens)")
        stats.kept = len(kept)
        max_prompt = l_q + 1
        completion = max_completion_length or max_seq_length - max_prompt
        if completion < 1 or max_prompt + completion > max_seq_length:
            raise TrainingError(
                f"prompt ({max_prompt}) + completion ({completion}) tokens exceed "
                f"--max-seq-length {max_seq_length}"
            )
        processes = int(os.environ.get("WORLD_SIZE", "1"))
        accum, steps_per_gen, note = grpo_batch_plan(
            batch_size, num_generations, processes=processes, grad_accum=grad_accum
        )
        log(f"GRPO data: {stats.describe()}; max prompt {max_prompt}, max completion {completion}")
        if note:
            log(f"GRPO batch: {note}")
        args = GRPOConfig(
            **_common_args(
                output=output,
                max_steps=max_steps,
                epochs=1.0,
                batch_size=batch_size,
                lr=lr,
                weight_decay=weight_decay,
                warmup=warmup_ratio,
                save_steps=save_steps,
                save_total_limit=save_total_limit,
                seed=seed,
                optim=optim,
            ),
            gradient_accumulation_steps=accum,
            steps_per_generation=steps_per_gen,
            num_generations=num_generations,
            max_completion_length=completion,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            min_p=min_p,
            beta=beta,
            loss_type=loss_type,
            scale_rewards=scale_rewards,
            chat_template_kwargs={"enable_thinking": enable_thinking},
        )
        trainer = GRPOTrainer(
            model=lm,
            reward_funcs=rewards,
            args=args,
            train_dataset=Dataset.from_list(kept),
            processing_class=tokenizer,
            peft_config=_lora_config(lora, lora_rank, lora_alpha, lora_dropout),
        )
        meta = {
            "recipe": "grpo",
            "base_model": model,
            "reward": reward,
            "reward_workers": pool.workers if pool is not None else 0,
            "key_weights": key_weights,
            "template": tmpl.name,
            "template_sha256": tmpl.sha256,
            "think_control": think_control,
            "enable_thinking": enable_thinking,
            "data": stats.describe(),
            "batch": {
                "per_device": batch_size,
                "grad_accum": accum,
                "steps_per_generation": steps_per_gen,
                "num_generations": num_generations,
                "note": note,
            },
            "lora": _lora_meta(lora, lora_rank, lora_alpha, lora_dropout),
        }
        return _train_and_save(trainer, tokenizer, output, resume_arg, lora, merge_lora, meta)
    finally:
        if pool is not None:
            pool.close()
