"""Prompt templates and think control, as versioned, hash-checked data.

The templates and their hashes: docs/prompts-and-training.md#prompt-templates.

The user turn is ``template.format(prompt=caption.rstrip() + suffix)`` where the suffix is
``" /think"``, ``" /no_think"`` or nothing (:func:`think_suffix`). There is no system
message; the conversation is that single user turn, passed through the tokenizer's chat
template by the generator and the trainers.

Built-in: ``minimal`` (the original default; its text reproduces both documented SHA-256
values). Any other template is a text file (``template=PATH``); its SHA-256 is compared
with the original work's known templates (:data:`KNOWN_TEMPLATES`, which also lists the
schema template's hash, so a user holding that exact text gets it recognised as
``schema``). An unrecognised text is accepted — the exact template belongs to each
checkpoint's training configuration — and its hash becomes part of the generator identity;
pass ``sha256=`` to insist on a particular text.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from fmbench.errors import FmbenchError

__all__ = [
    "KNOWN_TEMPLATES",
    "MINIMAL_TEMPLATE",
    "THINK_TAGS",
    "PromptTemplate",
    "TemplateError",
    "load_template",
    "think_suffix",
    "user_text",
]

#: the think-control choices of the original ``--think_tag`` / ``--append_think_control``
THINK_TAGS = ("auto", "think", "no_think", "none")


class TemplateError(FmbenchError, ValueError):
    """A prompt template that cannot be used (missing file, bad placeholder, wrong hash)."""


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt template: ``text`` with one ``{prompt}`` placeholder (``str.format``
    syntax: literal braces are doubled), its name and SHA-256 of the UTF-8 text."""

    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def verified(self) -> bool:
        """True when the text is one of the original work's known templates (by hash)."""
        return self.sha256 in KNOWN_TEMPLATES.values()

    def fill(self, prompt: str) -> str:
        """The template with ``{prompt}`` replaced."""
        return self.text.format(prompt=prompt)


#: the original work's known templates: name → SHA-256 of the text
KNOWN_TEMPLATES: dict[str, str] = {
    "minimal": "0a38ae13a53361c3065ca5ae6bad3d1a34bb0c4ecfcb727b41b501482612206a",
    "schema": "8172b2bc06c8ac7b0e7919a6ede58512c8ce8cd02d406ec6f4bfbcb32335d00c",
}
#: SHA-256 of the minimal template's instruction line (with its newline)
MINIMAL_INSTRUCTION_SHA256 = "6a9f62ef05a8749e43455a4fd2abe8832110d3fdc30537415bfbf5237cb0e925"

_MINIMAL_INSTRUCTION = (
    "Find the parameter values for the famous 6-OP(operator) FM synthesizer, the DX7, "
    "such that the resulting sound matches the given prompt.\n"
)
#: the original default template (157 characters; hash-checked by the tests)
MINIMAL_TEMPLATE = PromptTemplate("minimal", _MINIMAL_INSTRUCTION + "### Prompt: {prompt}")

_BUILTIN = {"minimal": MINIMAL_TEMPLATE}


def _check_placeholder(template: PromptTemplate, where: str) -> None:
    try:
        filled = template.fill("\x00")
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(
            f"{where}: a template must contain exactly one '{{prompt}}' placeholder "
            f"(double any literal braces): {type(exc).__name__}: {exc}"
        ) from None
    if "\x00" not in filled:
        raise TemplateError(f"{where}: the template has no '{{prompt}}' placeholder")


def load_template(
    spec: str | os.PathLike[str] | PromptTemplate = "minimal", *, sha256: str | None = None
) -> PromptTemplate:
    """A built-in template by name, or a template file (UTF-8, used byte for byte).

    ``sha256`` (optional) must match the text's hash, else :class:`TemplateError`.
    """
    if isinstance(spec, PromptTemplate):
        template = spec
    elif str(spec) in _BUILTIN:
        template = _BUILTIN[str(spec)]
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            names = ", ".join(_BUILTIN)
            raise TemplateError(f"prompt template {str(spec)!r}: no such file (built-in: {names})")
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"prompt template {path}: cannot read: {exc}") from None
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        known = {h: n for n, h in KNOWN_TEMPLATES.items()}
        template = PromptTemplate(known.get(digest, f"file:{path.name}"), text)
        _check_placeholder(template, str(path))
    if sha256 is not None and template.sha256 != sha256.lower():
        raise TemplateError(
            f"prompt template {template.name!r} has SHA-256 {template.sha256}, expected {sha256}"
        )
    return template


def think_suffix(think_tag: str = "auto", enable_thinking: bool = False) -> str:
    """The think-control suffix: ``auto`` → ``" /think"`` iff thinking is
    enabled else ``" /no_think"``; ``think``; ``no_think``; ``none`` → no suffix."""
    if think_tag not in THINK_TAGS:
        raise TemplateError(f"think tag must be one of {', '.join(THINK_TAGS)}, got {think_tag!r}")
    if think_tag == "auto":
        think_tag = "think" if enable_thinking else "no_think"
    return {"think": " /think", "no_think": " /no_think", "none": ""}[think_tag]


def user_text(
    caption: str,
    template: PromptTemplate = MINIMAL_TEMPLATE,
    *,
    think_tag: str = "auto",
    enable_thinking: bool = False,
) -> str:
    """The single user turn for ``caption``: right-stripped, suffixed, then templated."""
    return template.fill(caption.rstrip() + think_suffix(think_tag, enable_thinking))
