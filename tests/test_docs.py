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


def _signature(fn) -> str:
    import inspect

    parts, star = [], False
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        parts.append(p.name)
    return f"{fn.__name__}({', '.join(parts)})"


def _section(text: str, name: str) -> str:
    match = re.search(rf"^### `{name}`\n(.*?)(?=^#|\Z)", text, flags=re.M | re.S)
    assert match, f"docs/plugins.md needs a '### `{name}`' section"
    return match.group(1)


def test_the_contracts_reference_matches_the_code():
    """docs/plugins.md documents every protocol method with its real signature and every
    field of the value types a plugin sees: a drift fails here."""
    import dataclasses

    from fmbench import contracts

    text = DOCS.read_text()
    documented_fields = (
        "Audio",
        "BenchmarkItem",
        "GeneratorOutput",
        "MetricResult",
        "RenderSettings",
        "Sample",
    )
    for name in contracts.__all__:
        obj = getattr(contracts, name)
        if getattr(obj, "_is_protocol", False):
            section = _section(text, name)
            for attr in getattr(obj, "__annotations__", {}):
                assert f"`{attr}`" in section, f"{name}.{attr} is not documented"
            for method, fn in vars(obj).items():
                if not method.startswith("_") and callable(fn):
                    assert f"`{_signature(fn)}`" in section, f"document `{_signature(fn)}`"
        elif name in documented_fields:
            section = _section(text, name)
            for f in dataclasses.fields(obj):
                if not f.name.startswith("_"):
                    assert f"`{f.name}`" in section, f"{name}.{f.name} is not documented"
        else:
            assert f"`{name}`" in text, f"mention `{name}` in docs/plugins.md"
