"""Hugging Face causal-LM generators and training recipes (docs/prompts-and-training.md).

- ``hf`` generator (:class:`fmbench_plugins.hf.generator.HFGenerator`): a transformers checkpoint
  folder, optionally with a peft adapter; ``--generator hf:PATH`` or a named generator
  from ``fmbench.toml`` (``[generators.NAME] type = "hf"``, see :mod:`fmbench.config`).
- training (:mod:`fmbench_plugins.hf.training`): ``fmbench train sft|grpo`` with trl.
- prompts (:mod:`fmbench_plugins.hf.prompt`): the original templates and think control,
  hash-checked.

Heavy libraries (torch, transformers, peft, trl) are imported only when a generator is
built or training starts; install them with ``pip install 'fmbench[hf]'`` (generation)
or ``'fmbench[train]'`` (training).
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"


def _hf(**options: Any):
    from fmbench_plugins.hf.generator import HFGenerator

    return HFGenerator(**options)


@hookimpl
def fmbench_register_generators(register):
    """Register the ``hf`` generator (``hf:PATH`` fills the ``model`` option)."""
    register(
        "hf",
        _hf,
        summary="a transformers causal LM folder (+ optional peft adapter), hash-checked prompts",
        arg_option="model",
        version=VERSION,
        extras=("hf",),
        requires=("torch", "transformers"),
    )


@hookimpl
def fmbench_register_commands(cli):
    """Add ``fmbench train sft|grpo`` (options parsed here; torch and trl load on use)."""
    from fmbench_plugins.hf.cli import train_group

    cli.add_command(train_group)
