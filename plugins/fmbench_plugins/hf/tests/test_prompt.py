"""Prompt templates and think control (docs/prompts-and-training.md)."""

from __future__ import annotations

import hashlib

import pytest
from fmbench_plugins.hf.prompt import (
    KNOWN_TEMPLATES,
    MINIMAL_INSTRUCTION_SHA256,
    MINIMAL_TEMPLATE,
    TemplateError,
    load_template,
    think_suffix,
    user_text,
)


def test_minimal_template_matches_both_spec_hashes():
    text = MINIMAL_TEMPLATE.text
    assert len(text) == 157
    assert MINIMAL_TEMPLATE.sha256 == KNOWN_TEMPLATES["minimal"]
    instruction, _, rest = text.partition("\n")
    assert len(instruction) + 1 == 137
    assert hashlib.sha256((instruction + "\n").encode()).hexdigest() == MINIMAL_INSTRUCTION_SHA256
    assert rest == "### Prompt: {prompt}"
    assert MINIMAL_TEMPLATE.verified


def test_rendered_user_text_length():
    text = user_text("a bright electric piano   ")
    assert len(text) == 182
    assert text.endswith("### Prompt: a bright electric piano /no_think")


@pytest.mark.parametrize(
    ("tag", "thinking", "suffix"),
    [
        ("auto", False, " /no_think"),
        ("auto", True, " /think"),
        ("think", False, " /think"),
        ("no_think", True, " /no_think"),
        ("none", True, ""),
    ],
)
def test_think_suffix(tag, thinking, suffix):
    assert think_suffix(tag, thinking) == suffix


def test_bad_think_tag():
    with pytest.raises(TemplateError, match="think tag"):
        think_suffix("maybe")


def test_template_files(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(MINIMAL_TEMPLATE.text)
    assert load_template(f).name == "minimal"  # recognised by hash
    f.write_text('Give JSON like {{"a": 1}}.\n### Prompt: {prompt}\n')
    t = load_template(f)
    assert t.name == "file:t.txt" and not t.verified
    assert t.fill("x") == 'Give JSON like {"a": 1}.\n### Prompt: x\n'
    with pytest.raises(TemplateError, match="expected"):
        load_template(f, sha256=KNOWN_TEMPLATES["minimal"])
    f.write_text("no placeholder here")
    with pytest.raises(TemplateError, match="placeholder"):
        load_template(f)
    f.write_text("{prompt} and {other}")
    with pytest.raises(TemplateError, match="placeholder"):
        load_template(f)
    with pytest.raises(TemplateError, match="no such file"):
        load_template(tmp_path / "missing.txt")
