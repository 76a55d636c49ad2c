"""Every hook is documented (in its docstring and in docs/plugins.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fmbench import hookspecs
from fmbench.plugins import HOOK_KINDS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def _hookspec_names() -> list[str]:
    return [n for n in dir(hookspecs) if n.startswith("fmbench_")]


def test_hook_kinds_cover_every_hookspec():
    assert sorted(_hookspec_names()) == sorted([*HOOK_KINDS, "fmbench_register_commands"])


@pytest.mark.parametrize("hook", _hookspec_names())
def test_plugin_hooks_are_documented(hook):
    headings = re.findall(r"^### (\w+)$", DOCS.read_text(), flags=re.M)
    assert hook in headings, f"add a '### {hook}' section to docs/plugins.md"
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert "Fires" in doc, f"{hook}'s docstring must say when it fires"
