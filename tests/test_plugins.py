"""The plugin system: lenient/strict loading, filtering, misnamed hooks, registry lookups."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from pathlib import Path

import pytest

from fmbench import hookimpl
from fmbench.components import ComponentKind, Direction, MetricKind, Need
from fmbench.errors import (
    ComponentConflictError,
    ComponentUnavailableError,
    PluginError,
    UnknownComponentError,
)
from fmbench.plugins import HOOK_KINDS, Plugins


def _ep(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group="fmbench")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path where tests write throwaway plugin modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in list(sys.modules):
        if name.startswith("fmbtest_"):
            del sys.modules[name]


def _write(plugin_dir: Path, name: str, body: str) -> None:
    (plugin_dir / f"{name}.py").write_text(textwrap.dedent(body))


class AllHooks:
    """An in-process plugin implementing every hook once (keeps every hook exercised)."""

    @hookimpl
    def fmbench_register_generators(self, register):
        register("echo", lambda: "generator", summary="test generator", aliases=("repeat",))

    @hookimpl
    def fmbench_register_renderers(self, register):
        register("null", lambda: "renderer", summary="test renderer", version="1.2")

    @hookimpl
    def fmbench_register_metrics(self, register):
        register(
            "loud",
            lambda **kw: ("metric", kw),
            summary="test metric",
            direction="higher",
            metric_kind="paired_audio",
            needs=("audio", "reference_audio"),
            outputs=[("loud_a", "higher", "", 0.0), ("loud_b", "lower", "second column", 1.0)],
        )

    @hookimpl
    def fmbench_register_embedders(self, register):
        register("zeros", lambda: "embedder", summary="test embedder")

    @hookimpl
    def fmbench_register_benchmarks(self, register):
        register("tiny", lambda: "benchmark", summary="test benchmark")


def test_every_hook_registers_its_kind():
    plugins = Plugins(load_entry_points=False, strict=True)
    status = plugins.register(AllHooks(), "all-hooks")
    registry = plugins.registry
    assert set(status.hooks) == set(HOOK_KINDS)
    for kind, name in [
        (ComponentKind.GENERATOR, "echo"),
        (ComponentKind.RENDERER, "null"),
        (ComponentKind.METRIC, "loud"),
        (ComponentKind.EMBEDDER, "zeros"),
        (ComponentKind.BENCHMARK, "tiny"),
    ]:
        info = registry.get(kind, name)
        assert info.kind is kind and info.plugin == "all-hooks"
    assert sorted(status.components) == sorted(
        ["generator:echo", "renderer:null", "metric:loud", "embedder:zeros", "benchmark:tiny"]
    )


def test_metric_metadata_is_typed_and_construction_is_lazy():
    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(AllHooks(), "all-hooks")
    info = plugins.registry.get("metric", "loud")
    assert info.direction is Direction.HIGHER
    assert info.metric_kind is MetricKind.PAIRED_AUDIO
    assert info.needs == {Need.AUDIO, Need.REFERENCE_AUDIO}
    assert [o.name for o in info.outputs] == ["loud_a", "loud_b"]
    assert info.output_direction("loud_b") is Direction.LOWER
    assert plugins.registry.create("metric", "loud", k=3) == ("metric", {"k": 3})
    described = info.describe()
    assert described["direction"] == "higher" and described["needs"] == ["audio", "reference_audio"]


def test_aliases_resolve_and_unknown_names_suggest():
    plugins = Plugins(load_entry_points=False)
    plugins.register(AllHooks(), "all-hooks")
    registry = plugins.registry
    assert registry.get("generator", "repeat").name == "echo"
    with pytest.raises(UnknownComponentError) as err:
        registry.get("generator", "ecoh")
    message = str(err.value)
    assert "did you mean 'echo'" in message and "Available generators: echo" in message
    with pytest.raises(UnknownComponentError, match="Available metrics: loud"):
        registry.get("metric", "zzzz")


def test_metric_without_direction_is_a_plugin_problem():
    class NoDirection:
        @hookimpl
        def fmbench_register_metrics(self, register):
            register("bad", object, summary="no direction")

    plugins = Plugins(load_entry_points=False, strict=False)
    status = plugins.register(NoDirection(), "no-direction")
    assert "metric" not in {i.kind for i in plugins.registry.all()}
    assert any("must declare direction" in e for e in status.errors)
    with pytest.raises(PluginError, match="must declare direction"):
        strict = Plugins(load_entry_points=False, strict=True)
        strict.register(NoDirection(), "no-direction")
        strict.registry  # noqa: B018


def test_broken_import_is_reported_and_skipped(plugin_dir):
    _write(
        plugin_dir,
        "fmbtest_good",
        """
        from fmbench import hookimpl
        @hookimpl
        def fmbench_register_embedders(register):
            register("good", object, summary="fine")
    """,
    )
    _write(plugin_dir, "fmbtest_broken", "import a_module_that_does_not_exist\n")
    plugins = Plugins(load_entry_points=False, strict=False)
    plugins._load_entry_points([_ep("good", "fmbtest_good"), _ep("broken", "fmbtest_broken")])
    assert plugins.statuses["good"].loaded
    broken = plugins.statuses["broken"]
    assert not broken.loaded
    assert "a_module_that_does_not_exist" in broken.errors[0]
    assert plugins.registry.names("embedder") == ["good"]
    assert plugins.problems == [f"broken: {broken.errors[0]}"]


def test_strict_mode_makes_a_broken_plugin_fatal(plugin_dir):
    _write(plugin_dir, "fmbtest_broken2", "raise RuntimeError('boom at import')\n")
    plugins = Plugins(load_entry_points=False, strict=True)
    with pytest.raises(PluginError, match="boom at import"):
        plugins._load_entry_points([_ep("broken2", "fmbtest_broken2")])


def test_strict_mode_from_environment(monkeypatch):
    monkeypatch.setenv("FMBENCH_STRICT_PLUGINS", "1")
    assert Plugins(load_entry_points=False).strict
    monkeypatch.setenv("FMBENCH_STRICT_PLUGINS", "0")
    assert not Plugins(load_entry_points=False).strict


def test_raising_hook_skips_only_that_plugin():
    class Raises:
        @hookimpl
        def fmbench_register_renderers(self, register):
            register("half", object, summary="registered before the error")
            raise ValueError("hook failed")

    plugins = Plugins(load_entry_points=False, strict=False)
    plugins.register(AllHooks(), "all-hooks")
    status = plugins.register(Raises(), "raises")
    registry = plugins.registry
    assert "null" in registry.names("renderer")
    assert any("hook failed" in e for e in status.errors)


def test_load_plugins_filter(plugin_dir, monkeypatch):
    for name in ("a", "b"):
        _write(
            plugin_dir,
            f"fmbtest_{name}",
            f"""
            from fmbench import hookimpl
            @hookimpl
            def fmbench_register_generators(register):
                register("gen_{name}", object, summary="x")
        """,
        )
    eps = [_ep("a", "fmbtest_a"), _ep("b", "fmbtest_b")]
    monkeypatch.setenv("FMBENCH_LOAD_PLUGINS", "b")
    plugins = Plugins(load_entry_points=False)
    plugins._load_entry_points(eps)
    assert list(plugins.statuses) == ["b"]
    assert plugins.registry.names("generator") == ["gen_b"]
    monkeypatch.setenv("FMBENCH_LOAD_PLUGINS", "")
    none = Plugins(load_entry_points=False)
    none._load_entry_points(eps)
    assert none.statuses == {}


def test_misnamed_and_unmarked_hooks_are_caught(plugin_dir):
    _write(
        plugin_dir,
        "fmbtest_typo",
        """
        from fmbench import hookimpl
        @hookimpl
        def fmbench_register_metric(register):  # missing 's'
            pass
        def fmbench_register_generators(register):  # forgot @hookimpl
            pass
    """,
    )
    plugins = Plugins(load_entry_points=False, strict=False)
    plugins._load_entry_points([_ep("typo", "fmbtest_typo")])
    pending = plugins.check_pending()
    assert any("unknown hook fmbench_register_metric " in p for p in pending)
    assert any("fmbench_register_generators is not marked" in p for p in pending)
    with pytest.raises(PluginError, match="unknown hook fmbench_register_metric"):
        Plugins(load_entry_points=False, strict=True)._load_entry_points(
            [_ep("typo", "fmbtest_typo")]
        )


def test_duplicate_component_names_are_reported():
    class Other:
        @hookimpl
        def fmbench_register_generators(self, register):
            register("echo", object, summary="clash")

    plugins = Plugins(load_entry_points=False, strict=False)
    first = plugins.register(AllHooks(), "all-hooks")
    second = plugins.register(Other(), "other")
    # no silent winner: neither claim is used, and both plugins report the conflict
    with pytest.raises(ComponentConflictError, match="'all-hooks' and 'other'"):
        plugins.registry.get("generator", "echo")
    for status in (first, second):
        assert any(
            "'echo' is registered by plugins 'all-hooks' and 'other'" in e for e in status.errors
        )
    assert "echo" not in plugins.registry.names("generator")
    # the rest of the first plugin's components still load
    assert plugins.registry.get("renderer", "null").plugin == "all-hooks"


def test_duplicate_names_are_fatal_in_strict_mode():
    class Other:
        @hookimpl
        def fmbench_register_generators(self, register):
            register("echo", object, summary="clash")

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(AllHooks(), "all-hooks")
    plugins.register(Other(), "other")
    with pytest.raises(PluginError, match="'all-hooks' and 'other'"):
        _ = plugins.registry


def test_unavailable_component_names_the_extra():
    class NeedsMissing:
        @hookimpl
        def fmbench_register_metrics(self, register):
            register(
                "needs-missing",
                object,
                summary="x",
                direction="lower",
                metric_kind="set",
                requires=("a_module_that_does_not_exist",),
                extras=("clap",),
            )

    plugins = Plugins(load_entry_points=False)
    plugins.register(NeedsMissing(), "needs-missing")
    info = plugins.registry.get("metric", "needs-missing")
    assert not info.available
    with pytest.raises(ComponentUnavailableError, match=r"fmbench\[clap\]"):
        plugins.registry.create("metric", "needs-missing")


def test_builtin_plugins_are_declared_as_entry_points():
    """Every built-in plugin package under plugins/ is found the way a third party is."""
    root = Path(__file__).resolve().parents[1]
    import tomllib

    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"][
        "fmbench"
    ]
    builtins = root / "plugins" / "fmbench_plugins"
    packages = {
        f"fmbench_plugins.{p.name}" for p in builtins.iterdir() if (p / "__init__.py").exists()
    }
    modules = set(declared.values())
    assert packages <= modules, (
        "declare every plugins/fmbench_plugins/<package> under [project.entry-points.fmbench]"
    )
    loose = {p.name for p in (root / "plugins").iterdir() if (p / "__init__.py").exists()}
    assert loose == {"fmbench_plugins"}, "built-in plugins live under plugins/fmbench_plugins/"
    assert all(m.startswith("fmbench.") for m in modules - packages), (
        "core plugins live in fmbench.*"
    )
    installed = {ep.name for ep in importlib.metadata.entry_points(group="fmbench")}
    assert set(declared) <= installed, "reinstall: pip install -e ."


def test_builtin_plugins_load_cleanly():
    plugins = Plugins(strict=True, only=None)
    assert plugins.registry is not None
    assert plugins.problems == []
    assert "dx7" in plugins.registry.names("renderer")


def test_component_specs_fill_the_declared_option():
    from fmbench.errors import ComponentSpecError

    class WithArg:
        @hookimpl
        def fmbench_register_metrics(self, register):
            register(
                "dist",
                object,
                summary="x",
                direction="lower",
                metric_kind="set",
                arg_option="embedder",
            )

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(WithArg(), "with-arg")
    plugins.register(AllHooks(), "all-hooks")
    registry = plugins.registry
    info, options = registry.resolve_spec("metric", "dist:mfcc")
    assert info.name == "dist" and options == {"embedder": "mfcc"}
    assert registry.resolve_spec("metric", "dist")[1] == {}
    with pytest.raises(ComponentSpecError, match="takes no ':ARG'"):
        registry.resolve_spec("metric", "loud:x")
    with pytest.raises(ComponentSpecError, match="empty argument"):
        registry.resolve_spec("metric", "dist:")
    with pytest.raises(UnknownComponentError, match="did you mean 'dist'"):
        registry.resolve_spec("metric", "dits:mfcc")


def test_install_hint_overrides_the_generic_advice():
    class Hinted:
        @hookimpl
        def fmbench_register_renderers(self, register):
            register(
                "hinted",
                object,
                summary="x",
                requires=("a_module_that_does_not_exist",),
                install_hint="pip install the-real-dist",
            )

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(Hinted(), "hinted")
    reason = plugins.registry.get("renderer", "hinted").unavailable_reason()
    assert reason.endswith("pip install the-real-dist")


def test_plugins_add_commands_through_the_hook():
    import click

    @click.command("hello")
    def hello() -> None:
        click.echo("hi")

    class Commands:
        @hookimpl
        def fmbench_register_commands(self, cli):
            cli.add_command(hello)

    class Broken:
        @hookimpl
        def fmbench_register_commands(self, cli):
            raise RuntimeError("boom")

    class Clash:
        @hookimpl
        def fmbench_register_commands(self, cli):
            cli.add_command(click.Command("run", callback=lambda: None))

    group = click.Group("fmbench")
    core_run = click.Command("run", callback=lambda: None)
    group.add_command(core_run)
    plugins = Plugins(load_entry_points=False, strict=False)
    ok = plugins.register(Commands(), "commands")
    broken = plugins.register(Broken(), "broken")
    clash = plugins.register(Clash(), "clash")
    plugins.register_commands(group)
    assert group.commands["hello"] is hello and "command:hello" in ok.components
    assert group.commands["run"] is core_run  # a plugin cannot replace a command
    assert any("already a command" in e for e in clash.errors)
    assert any("RuntimeError: boom" in e for e in broken.errors)


def test_train_is_a_plugin_command_and_the_core_cli_imports_no_plugin():
    import subprocess
    import sys

    code = (
        "import sys, fmbench.cli\n"
        "assert not [m for m in sys.modules if m.startswith('fmbench_plugins')], sys.modules\n"
        "from click.testing import CliRunner\n"
        "r = CliRunner().invoke(fmbench.cli.main, ['train', '--help'])\n"
        "assert r.exit_code == 0 and 'sft' in r.output, r.output\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_module_attr_factories():
    from fmbench.components import lazy_factory

    class Lazy:
        @hookimpl
        def fmbench_register_generators(self, register):
            register(
                "lazy-random", "fmbench_plugins.baselines.generators:RandomGenerator", summary="x"
            )

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(Lazy(), "lazy")
    gen = plugins.registry.create("generator", "lazy-random")
    assert type(gen).__name__ == "RandomGenerator"
    with pytest.raises(ValueError, match="package.module:attr"):
        lazy_factory("no-colon-here")
