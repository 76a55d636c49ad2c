"""The ``hf`` generator: a transformers causal LM (optionally + a peft adapter).

Prompts, generation and output handling: docs/prompts-and-training.md.

Prompt: one user turn, ``template.format(prompt=caption.rstrip() + suffix)``,
rendered with the tokenizer's own chat template (``add_generation_prompt=True``,
``enable_thinking=think``), no system message. Generation: greedy by default;
``do_sample`` with ``temperature``/``top_p``/``top_k``; ``max_new_tokens``; batched with
left padding. Sampled runs are reproducible: ``torch.manual_seed`` is set before each
batch from the run seed and the batch's item ids.

Output handling: only the continuation is decoded (special tokens skipped) →
``response_text``; it is split at the **last** ``</think>`` token id: everything up to it is
``think_text``, the rest ``final_text`` (literal ``<think>``/``</think>`` stripped). The
runner parses ``raw_output``, which is therefore ``final_text`` — or the whole response when
the final text is empty — exactly the text the original pipeline parsed; the complete reply
is kept verbatim in ``info["response_text"]`` with ``think_text``, ``think_found``, token
counts, ``truncated`` and ``retries``.

Retries (sampling only): a reply without a parsable 12-key patch is generated again, up
to ``retries`` times; the number used is reported per item.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fmbench.contracts import GeneratorOutput
from fmbench.errors import FmbenchError
from fmbench_plugins.hf.prompt import PromptTemplate, load_template, think_suffix

__all__ = [
    "QWEN3_THINK_END_ID",
    "HFGenerator",
    "HFGeneratorError",
    "folder_fingerprint",
    "load_model_and_tokenizer",
    "split_reply",
]

#: Qwen3's ``</think>`` id, the fallback when the tokenizer cannot resolve it
QWEN3_THINK_END_ID = 151668
_THINK_TAG = re.compile(r"</?think>")
_LITERAL_THINK = re.compile(r"<think>(.*?)</think>", re.S)


class HFGeneratorError(FmbenchError):
    """A checkpoint, adapter or tokenizer that cannot be used; the message names it."""


def folder_fingerprint(folder: str | os.PathLike[str]) -> str:
    """A cheap content fingerprint of a checkpoint folder (top-level files: name, size,
    SHA-256 of the first and last MiB). Part of the generator identity."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        size = path.stat().st_size
        h.update(f"{path.name}\0{size}\0".encode())
        with path.open("rb") as f:
            h.update(f.read(1 << 20))
            if size > 2 << 20:
                f.seek(-(1 << 20), os.SEEK_END)
                h.update(f.read())
    return h.hexdigest()[:16]


def _think_end_id(tokenizer: Any) -> int | None:
    tid = tokenizer.convert_tokens_to_ids("</think>")
    if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
        return tid
    return QWEN3_THINK_END_ID if len(tokenizer) > QWEN3_THINK_END_ID else None


def split_reply(ids: Sequence[int], tokenizer: Any, think_end_id: int | None) -> dict[str, Any]:
    """Split one generated continuation at the last ``</think>`` (token ids, padding allowed)."""
    ids = [int(i) for i in ids]

    def decode(part: list[int]) -> str:
        return tokenizer.decode(part, skip_special_tokens=True)

    response = decode(ids)
    positions = (
        [i for i, t in enumerate(ids) if t == think_end_id] if think_end_id is not None else []
    )
    if positions:
        cut = positions[-1] + 1
        think = _THINK_TAG.sub("", decode(ids[:cut])).strip()
        final = _THINK_TAG.sub("", decode(ids[cut:])).strip()
        found = True
    else:
        m = _LITERAL_THINK.search(response)
        think = m.group(1).strip() if m else ""
        final = response.strip()
        found = False
    return {
        "response_text": response,
        "think_text": think,
        "final_text": final,
        "think_found": found,
    }


def _resolve_dtype(torch: Any, dtype: str, device: str) -> Any:
    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return {
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
            "float16": torch.float16,
            "fp16": torch.float16,
            "float32": torch.float32,
            "fp32": torch.float32,
        }[dtype]
    except KeyError:
        raise HFGeneratorError(
            f"dtype must be auto, bfloat16, float16 or float32, got {dtype!r}"
        ) from None


def _resolve_device(torch: Any, device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _check_folder(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_dir():
        raise HFGeneratorError(f"{what} folder not found: {p.resolve()}")
    return p.resolve()


def load_model_and_tokenizer(
    model: str | os.PathLike[str],
    adapter: str | os.PathLike[str] | None = None,
    *,
    base: str | os.PathLike[str] | None = None,
    merge: bool = False,
    device: str = "auto",
    dtype: str = "auto",
    allow_hub: bool = False,
    require_chat_template: bool = True,
) -> tuple[Any, Any, dict[str, Any]]:
    """Load a causal LM folder (or an adapter folder on its base) and its tokenizer.

    ``model`` may itself be a peft adapter folder (it holds ``adapter_config.json`` but no
    ``config.json``); its base is ``base`` or the adapter's ``base_model_name_or_path``.
    Returns ``(model, tokenizer, details)``; every failure is an :class:`HFGeneratorError`
    naming the folder.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def local(path: Any, what: str) -> str:
        if allow_hub and not Path(str(path)).expanduser().exists():
            return str(path)
        return str(_check_folder(path, what))

    model_dir = local(model, "checkpoint")
    if adapter is None and (Path(model_dir) / "adapter_config.json").is_file():
        if not (Path(model_dir) / "config.json").is_file():
            adapter, model_dir = model_dir, None
    adapter_dir = local(adapter, "adapter") if adapter is not None else None
    if adapter_dir is not None:
        cfg_path = Path(adapter_dir) / "adapter_config.json"
        if not cfg_path.is_file():
            raise HFGeneratorError(f"adapter folder {adapter_dir} has no adapter_config.json")
        adapter_cfg = json.loads(cfg_path.read_text())
        if model_dir is None:
            trained_on = base or adapter_cfg.get("base_model_name_or_path")
            if not trained_on:
                raise HFGeneratorError(f"adapter {adapter_dir} names no base model; pass base=PATH")
            model_dir = local(trained_on, "base model")
    elif model_dir is None:  # pragma: no cover - unreachable
        raise HFGeneratorError("no model given")

    device = _resolve_device(torch, device)
    torch_dtype = _resolve_dtype(torch, dtype, device)
    tok_dir = (
        adapter_dir
        if adapter_dir and (Path(adapter_dir) / "tokenizer_config.json").is_file()
        else model_dir
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes a clear error
        raise HFGeneratorError(f"cannot load the tokenizer from {tok_dir}: {exc}") from None
    if require_chat_template and not getattr(tokenizer, "chat_template", None):
        raise HFGeneratorError(
            f"the tokenizer in {tok_dir} has no chat template; the hf generator formats the "
            "prompt with the model's own chat template (docs/prompts-and-training.md) — use a "
            "chat/instruct checkpoint or add chat_template.jinja to the folder"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    try:
        lm = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch_dtype)
    except Exception as exc:  # noqa: BLE001
        raise HFGeneratorError(f"cannot load the model from {model_dir}: {exc}") from None
    if adapter_dir is not None:
        from peft import PeftModel

        try:
            lm = PeftModel.from_pretrained(lm, adapter_dir)
        except Exception as exc:  # noqa: BLE001 - shape/key mismatches surface here
            first = (
                str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            )
            trained_on = adapter_cfg.get("base_model_name_or_path")
            raise HFGeneratorError(
                f"LoRA adapter {adapter_dir} does not fit base model {model_dir} "
                f"(adapter trained on {trained_on!r}): {first}"
            ) from None
        if merge:
            lm = lm.merge_and_unload()
    lm.to(device)
    lm.eval()
    details = {
        "model": model_dir,
        "adapter": adapter_dir,
        "device": device,
        "dtype": str(torch_dtype).removeprefix("torch."),
    }
    return lm, tokenizer, details


class HFGenerator:
    """Generate replies with a Hugging Face causal LM (see the module docstring).

    Options (all plain values, so they can come from ``fmbench.toml`` or ``-o KEY=VALUE``):
    ``model`` (folder, required), ``adapter`` (peft folder), ``base`` (base model of an
    adapter-only ``model``), ``merge`` (merge the adapter into the weights), ``think``
    (``enable_thinking``), ``think_tag`` (auto/think/no_think/none), ``template``
    (``minimal`` or a file), ``template_sha256``, ``do_sample``, ``temperature``, ``top_p``,
    ``top_k``, ``max_new_tokens``, ``batch_size``, ``retries``, ``device``, ``dtype``.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        adapter: str | os.PathLike[str] | None = None,
        *,
        base: str | os.PathLike[str] | None = None,
        merge: bool = False,
        think: bool = False,
        think_tag: str = "auto",
        template: str | os.PathLike[str] | PromptTemplate = "minimal",
        template_sha256: str | None = None,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 0.95,
        top_k: int = 20,
        max_new_tokens: int = 1024,
        batch_size: int = 8,
        retries: int = 0,
        device: str = "auto",
        dtype: str = "auto",
        allow_hub: bool = False,
    ) -> None:
        if int(max_new_tokens) < 1 or int(batch_size) < 1 or int(retries) < 0:
            raise HFGeneratorError("max_new_tokens and batch_size must be >= 1, retries >= 0")
        if retries and not do_sample:
            raise HFGeneratorError(
                "retries need do_sample=true: greedy decoding would repeat the same reply"
            )
        self.template = load_template(template, sha256=template_sha256)
        self.think, self.think_tag = bool(think), think_tag
        think_suffix(think_tag, self.think)  # validates think_tag
        self.do_sample = bool(do_sample)
        self.temperature, self.top_p, self.top_k = float(temperature), float(top_p), int(top_k)
        self.max_new_tokens, self.batch_size = int(max_new_tokens), int(batch_size)
        self.retries = int(retries)
        self.model, self.tokenizer, self.details = load_model_and_tokenizer(
            model, adapter, base=base, merge=merge, device=device, dtype=dtype, allow_hub=allow_hub
        )
        self.think_end_id = _think_end_id(self.tokenizer)
        fingerprints = {
            k: folder_fingerprint(v) if v and Path(v).is_dir() else v
            for k, v in (("model", self.details["model"]), ("adapter", self.details["adapter"]))
        }
        settings = {
            "model": self.details["model"],
            "adapter": self.details["adapter"],
            "fingerprints": fingerprints,
            "merge": bool(merge),
            "dtype": self.details["dtype"],
            "template": self.template.sha256[:16],
            "think": self.think,
            "think_tag": self.think_tag,
            "do_sample": self.do_sample,
            "max_new_tokens": self.max_new_tokens,
            "retries": self.retries,
        }
        if self.do_sample:
            settings.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        self.settings = settings
        self.identity = "hf@1:" + json.dumps(settings, sort_keys=True, separators=(",", ":"))

    # -- prompts ---------------------------------------------------------------------
    def user_text(self, caption: str) -> str:
        """The single user turn for ``caption`` (template + think suffix)."""
        return self.template.fill(caption.rstrip() + think_suffix(self.think_tag, self.think))

    def chat_prompt(self, caption: str) -> str:
        """The full model input text (the tokenizer's chat template, generation prompt)."""
        return self.tokenizer.apply_chat_template(
            [{"role": "user", "content": self.user_text(caption)}],
            tokenize=False,
            add_generation_prompt=True,
            enable_thinking=self.think,
        )

    # -- generation ------------------------------------------------------------------
    def _generation_config(self) -> Any:
        from transformers import GenerationConfig

        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        options: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.do_sample,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": eos,
        }
        if self.do_sample:
            options.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        return GenerationConfig(**options)

    def _generate_texts(self, prompts: list[str], seed: int) -> list[dict[str, Any]]:
        import torch

        torch.manual_seed(seed)
        enc = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.details["device"])
        with torch.no_grad():
            out = self.model.generate(**enc, generation_config=self._generation_config())
        n_in = enc["input_ids"].shape[1]
        results = []
        pad = self.tokenizer.pad_token_id
        eos = self._generation_config().eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        for row, mask in zip(out, enc["attention_mask"], strict=True):
            gen = [int(t) for t in row[n_in:]]
            while gen and gen[-1] == pad and pad not in eos_ids:
                gen.pop()
            finished = bool(gen) and gen[-1] in eos_ids
            while gen and gen[-1] in eos_ids | {pad}:
                gen.pop()
            parts = split_reply(gen, self.tokenizer, self.think_end_id)
            parts["prompt_tokens"] = int(mask.sum())
            parts["completion_tokens"] = len(gen) + (1 if finished else 0)
            parts["truncated"] = not finished
            results.append(parts)
        return results

    @staticmethod
    def _parsable(text: str) -> bool:
        from fmbench.patch.canonical import canonicalize
        from fmbench.patch.errors import PatchParseError
        from fmbench.patch.parse import parse_reply

        try:
            canonicalize(parse_reply(text), require_all=True)
        except PatchParseError:
            return False
        return True

    def generate(self, items: Sequence[Any], *, seed: int) -> list[GeneratorOutput]:
        """One :class:`GeneratorOutput` per item (``raw_output`` = the text to parse)."""
        outputs: list[GeneratorOutput | None] = [None] * len(items)
        todo = []
        for i, item in enumerate(items):
            if not str(item.caption).strip():
                outputs[i] = GeneratorOutput(info={"error": "missing caption"})
            else:
                todo.append(i)
        for start in range(0, len(todo), self.batch_size):
            idx = todo[start : start + self.batch_size]
            prompts = [self.chat_prompt(items[i].caption) for i in idx]
            key = "\0".join(str(items[i].id) for i in idx)
            batch_seed = (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**63)
            results = self._generate_texts(prompts, batch_seed)
            retries = [0] * len(idx)
            for attempt in range(1, self.retries + 1):
                again = [j for j, r in enumerate(results) if not self._parsable(self._raw(r))]
                if not again:
                    break
                redo = self._generate_texts([prompts[j] for j in again], batch_seed + attempt)
                for j, r in zip(again, redo, strict=True):
                    results[j] = r
                    retries[j] = attempt
            for j, i in enumerate(idx):
                r = results[j]
                out = self._output(r)
                out.info.update(retries=retries[j], prompt=self.user_text(items[i].caption))
                outputs[i] = out
        return [o for o in outputs if o is not None]

    @classmethod
    def _output(cls, parts: dict[str, Any]) -> GeneratorOutput:
        """The runner's view of one reply: ``raw_output`` to parse, the rest in ``info``."""
        return GeneratorOutput(raw_output=cls._raw(parts), info=dict(parts))

    @staticmethod
    def _raw(parts: dict[str, Any]) -> str:
        """What the run parses: the final text, or the whole response if it is empty."""
        return parts["final_text"] if parts["final_text"].strip() else parts["response_text"]
