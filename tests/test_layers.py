"""The layer rules of ARCHITECTURE.md, checked on every import statement (function-level
imports included) of the core and the built-in plugins."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "src" / "fmbench"
BUILTINS = ROOT / "plugins" / "fmbench_plugins"
#: the run pipeline's stages: only the run package and the command line drive them
PIPELINE = {
    f"fmbench.run.{m}"
    for m in ("runner", "config", "generate", "parse", "render", "score", "summarise")
}


def _module_name(path: Path) -> str:
    base = CORE.parent if path.is_relative_to(CORE) else BUILTINS.parent
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def _sources(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*.py")) if "tests" not in p.relative_to(root).parts]


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations() -> list[str]:
    out = []
    for path in _sources(CORE):
        me = _module_name(path)
        for imp in _imports(path):
            if _inside(imp, "fmbench_plugins") or imp.startswith("fmbench_"):
                out.append(f"{me} imports the plugin {imp}: find plugins through the registry")
            if _inside(imp, "fmbench.cli") and not (
                _inside(me, "fmbench.cli") or me == "fmbench.__main__"
            ):
                out.append(f"{me} imports {imp}: only the command line imports fmbench.cli")
            if any(_inside(imp, p) for p in PIPELINE) and not (
                _inside(me, "fmbench.run") or _inside(me, "fmbench.cli")
            ):
                out.append(f"{me} imports the run pipeline ({imp})")
            if (
                _inside(me, "fmbench.patch")
                and _inside(imp, "fmbench")
                and not any(_inside(imp, ok) for ok in ("fmbench.patch", "fmbench.errors"))
                and imp != "fmbench"
            ):
                out.append(f"{me} (the patch contract) imports {imp}")
            if me == "fmbench.contracts" and (
                _inside(imp, "fmbench.run") or _inside(imp, "fmbench.cli")
            ):
                out.append(f"fmbench.contracts imports {imp}")
    for path in _sources(BUILTINS):
        me = _module_name(path)
        own = ".".join(me.split(".")[:2])
        for imp in _imports(path):
            if (
                _inside(imp, "fmbench_plugins")
                and imp != "fmbench_plugins"
                and not _inside(imp, own)
            ):
                out.append(f"{me} imports another plugin ({imp}): share code through fmbench")
            if _inside(imp, "fmbench.cli") and not me.endswith(".cli"):
                out.append(f"{me} imports {imp}: a plugin adds commands through the hook")
            if any(_inside(imp, p) for p in PIPELINE):
                out.append(f"{me} imports the run pipeline ({imp})")
    return out


def test_layer_rules_hold():
    assert _violations() == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from fmbench_plugins.dx7 import engine\n", "imports the plugin"),
        ("def f():\n    from fmbench.run.runner import Runner\n", "run pipeline"),
    ],
)
def test_the_checker_catches_violations(tmp_path, monkeypatch, source, expected):
    fake = CORE / "_layer_probe_tmp.py"
    fake.write_text(source)
    try:
        assert any(expected in v for v in _violations())
    finally:
        fake.unlink()
