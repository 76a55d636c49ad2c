"""A tiny Qwen3-style checkpoint built on the fly, for offline tests and demos.

:func:`build_tiny_checkpoint` trains a byte-level BPE tokenizer (the ``tokenizers``
library) on a few dozen strings, wraps it with a ChatML chat template that handles
``<think>`` the way Qwen3's does (``enable_thinking=False`` pre-fills an empty think
block; an assistant message containing ``</think>`` is re-rendered as
``<think>\\n{reasoning}\\n</think>\\n\\n{answer}``), and saves it beside a randomly
initialised ``Qwen3ForCausalLM`` of about 100 k parameters. Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from fmbench.testing.patches import spec_b

__all__ = [
    "CHATML_THINK_TEMPLATE",
    "EXAMPLE_PATCH",
    "SPECIAL_TOKENS",
    "build_tiny_checkpoint",
    "build_tokenizer",
]

#: ChatML with Qwen3-like think handling (written for fmbench; single-turn semantics)
CHATML_THINK_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- set content = message['content'] -%}"
    "{%- if '</think>' in content -%}"
    "{%- set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') -%}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning + '\\n</think>\\n\\n' + content"
    " + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)

#: the pretty-form example voice (valid; one feedback operator), = golden spec B
EXAMPLE_PATCH = spec_b()

#: special tokens of the tiny tokenizer (``<think>``/``</think>`` are added, not special,
#: as in Qwen3, so they survive ``skip_special_tokens`` decoding)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
THINK_TOKENS = ("<think>", "</think>")

_CORPUS = [
    "a bright electric piano",
    "a warm analog pad with slow attack",
    "a plucked bass with a short decay",
    "metallic bell tones with long release",
    "Find the parameter values for the DX7 synthesizer. ### Prompt: /think /no_think",
    '```json\n{\n  "modmatrix": [\n      [0,1,0,0,0,0],\n      [0,0,0,0,0,0]\n  ],\n'
    '  "outmatrix": [1,0,1,0,0,0],\n  "feedback": 7,\n  "transpose": 0\n}\n```',
    '"fixed_freq": [0,0,0,0,0,0], "coarse": [1,1,1,1,1,1], "fine": [0,0,0,0,0,0]',
    '"detune": [0,0,0,0,0,0], "ol": [99,80,70,90,99,99], "sensitivity": [0,0,0,0,0,0]',
    '"eg_rate": [[99,99,99,99,99,99],[50,50,50,50,50,50]], "eg_level": [[90,80,0,31,7,14]]',
    "user assistant system 0123456789 -24 24 [] {} , : \n\n",
]


def build_tokenizer(vocab_size: int = 512):
    """A ``PreTrainedTokenizerFast`` (byte-level BPE, ChatML + think template)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.add_tokens(list(THINK_TOKENS))
    fast.chat_template = CHATML_THINK_TEMPLATE
    return fast


def build_tiny_checkpoint(
    folder: str | os.PathLike[str],
    *,
    hidden_size: int = 64,
    seed: int = 0,
    chat_template: bool = True,
) -> Path:
    """Save a tiny random Qwen3 model and its tokenizer to ``folder``; returns the path."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        tie_word_embeddings=True,
        max_position_embeddings=2048,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen3ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
