"""Every "install this" hint the CLI prints works when followed literally: the command it
names installs a distribution that provides the missing module (no circles)."""

from __future__ import annotations

import importlib.metadata
import re
import shlex

import pytest

from fmbench.components import ComponentInfo, ComponentKind
from fmbench.plugins import get_registry


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (``a_b>=1`` → ``a-b``)."""
    name = re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _extras() -> dict[str, set[str]]:
    """fmbench's extras (plus "" for the base install) → distribution names they install."""
    out: dict[str, set[str]] = {"": set()}
    for req in importlib.metadata.requires("fmbench") or []:
        m = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", req)
        out.setdefault(m.group(1) if m else "", set()).add(_name(req))
    return out


def _installed_by(command: str, extras: dict[str, set[str]]) -> set[str]:
    """Distribution names a ``pip install …`` command installs (base deps included when
    it installs fmbench itself)."""
    args = shlex.split(command)
    assert args[:2] == ["pip", "install"], f"not a pip command: {command!r}"
    names: set[str] = set()
    for arg in args[2:]:
        if arg.startswith("-"):
            continue
        m = re.fullmatch(r"fmbench\[([^\]]+)\]", arg)
        if m:
            names |= extras[""]
            for extra in m.group(1).split(","):
                assert extra in extras, f"{command!r} names the unknown extra {extra!r}"
                names |= extras[extra]
        else:
            names.add(_name(arg))
    return names


def _providers_of(module: str) -> set[str]:
    return {_name(d) for d in importlib.metadata.packages_distributions().get(module, [])}


def _components_with_requirements() -> list[ComponentInfo]:
    return [info for info in get_registry().all() if info.requires]


@pytest.mark.parametrize(
    "info", _components_with_requirements(), ids=lambda i: f"{i.kind}:{i.name}"
)
def test_each_hint_installs_a_provider_of_each_missing_module(info):
    extras = _extras()
    checked = 0
    for module in info.requires:
        providers = _providers_of(module)
        if not providers:
            continue  # not installed here: nothing to compare against
        commands = info.install_commands((module,))
        assert commands, f"{info.name}: no install command for {module}"
        installed = set().union(*(_installed_by(c, extras) for c in commands))
        assert installed & providers, (
            f"{info.kind} {info.name!r}: the hint {commands} for the missing module {module!r}"
            f" installs {sorted(installed)}, none of which provides it ({sorted(providers)})"
        )
        checked += 1
    assert checked, f"{info.name}: none of {info.requires} is installed in the test environment"


def test_timbral_hint_is_not_a_circle():
    info = get_registry().get("metric", "timbral")
    # the situation of a user who followed the extra's hint: only timbral_models is missing
    commands = info.install_commands(("timbral_models",))
    assert commands == ["pip install --no-deps timbral-models==0.4.0"]
    both = info.install_commands(("timbral_models", "librosa"))
    assert both == ["pip install --no-deps timbral-models==0.4.0", "pip install 'fmbench[timbral]'"]


def test_audiobox_hint_names_the_no_deps_package():
    info = get_registry().get("metric", "audiobox")
    assert info.install_commands(("audiobox_aesthetics",)) == [
        "pip install --no-deps audiobox_aesthetics==0.0.4"
    ]


def test_unavailable_reason_joins_commands_that_run_as_printed():
    info = ComponentInfo(
        ComponentKind.METRIC,
        "m",
        lambda **o: None,
        "s",
        direction="higher",
        metric_kind="audio",
        worst=0.0,
        requires=("no_such_module_x", "no_such_module_y"),
        extras=("timbral",),
        providers=(("no_such_module_x", "--no-deps x-dist==1.0"),),
    )
    reason = info.unavailable_reason()
    assert reason == (
        "metric 'm' needs no_such_module_x, no_such_module_y: "
        "pip install --no-deps x-dist==1.0 && pip install 'fmbench[timbral]'"
    )
    for command in reason.split(": ", 1)[1].split(" && "):
        assert shlex.split(command)[:2] == ["pip", "install"]


def test_registered_providers_accept_a_mapping():
    from fmbench.plugins import _coerce_metadata

    md = _coerce_metadata(ComponentKind.METRIC, {"providers": {"a": "--no-deps a==1"}})
    assert md["providers"] == (("a", "--no-deps a==1"),)
