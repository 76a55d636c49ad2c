"""Named generators from fmbench.toml and the user config (fmbench.config)."""

from __future__ import annotations

import re

import pytest

from fmbench.components import ComponentKind
from fmbench.config import (
    ConfigError,
    config_files,
    fmbench_register_generators,
    named_generators,
    user_config_path,
)
from fmbench.errors import FmbenchError


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    user = tmp_path / "user.toml"
    monkeypatch.setenv("FMBENCH_CONFIG", str(user))
    (tmp_path / "ckpt").mkdir()
    return tmp_path, user


def test_project_overrides_user_and_paths_resolve(project):
    root, user = project
    user.write_text(
        '[generators.qwen-grpo]\ntype = "hf"\nmodel = "/models/a"\n'
        '[generators.mine]\ntype = "retrieval"\nmethod = "bm25"\nsummary = "BM25 baseline"\n'
    )
    sub = root / "sub"
    sub.mkdir()
    (root / "fmbench.toml").write_text(
        '[generators.qwen-grpo]\ntype = "hf"\nmodel = "./ckpt"\nadapter = "hub-like/name"\nthink = false\n'
    )
    import os

    os.chdir(sub)  # found in a parent folder
    assert config_files() == [user.resolve(), (root / "fmbench.toml").resolve()]
    entries, problems = named_generators()
    assert problems == []
    q = entries["qwen-grpo"]
    assert q.source == (root / "fmbench.toml").resolve()
    assert q.options == {"model": str(root / "ckpt"), "adapter": "hub-like/name", "think": False}
    assert entries["mine"].describe() == "retrieval: BM25 baseline"


def test_user_config_location(monkeypatch, tmp_path):
    monkeypatch.delenv("FMBENCH_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_config_path() == tmp_path / "fmbench" / "config.toml"
    monkeypatch.setenv("FMBENCH_CONFIG", "")
    assert user_config_path() is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[generators.x\n", "invalid TOML"),
        ("generators = 3\n", "'generators' must be a table"),
        ("[generators.x]\nmodel = 'a'\n", r"\[generators.x\]: key 'type' is required"),
        ("[generators.x]\ntype = 'x'\n", "cannot name the entry itself"),
        ("[generators.x]\ntype = 'hf'\nmodel = 3\n", "key 'model' must be a string"),
        ('[generators."bad name"]\ntype = "hf"\n', "invalid name"),
    ],
)
def test_bad_config_names_file_and_key(project, text, message):
    root, _ = project
    (root / "fmbench.toml").write_text(text)
    _, problems = named_generators()
    assert len(problems) == 1
    assert str(root / "fmbench.toml") in problems[0]
    assert re.search(message, problems[0])


def test_hook_registers_with_defined_in_and_broken_entries_raise(project):
    root, _ = project
    (root / "fmbench.toml").write_text(
        '[generators.good]\ntype = "random"\n[generators.broken]\nmodel = "x"\n'
    )
    registered = {}

    def register(name, factory, /, *, summary, **md):
        registered[name] = (factory, summary, md)

    with pytest.raises(ConfigError, match="broken"):
        fmbench_register_generators(register)
    factory, summary, md = registered["good"]
    assert md["defined_in"] == str((root / "fmbench.toml").resolve())
    assert summary.startswith("random") and str(root / "fmbench.toml") in summary
    gen = factory()  # the random generator, built through the registry
    assert hasattr(gen, "generate")
    with pytest.raises(FmbenchError, match="key 'type' is required"):
        registered["broken"][0]()


def test_unknown_type_and_bad_option(project):
    root, _ = project
    (root / "fmbench.toml").write_text(
        '[generators.a]\ntype = "nope"\n[generators.b]\ntype = "random"\nbogus = 1\n'
    )
    registered = {}
    fmbench_register_generators(lambda n, f, /, **kw: registered.setdefault(n, f))
    with pytest.raises(ConfigError, match=r"\[generators.a\] key 'type'.*unknown generator"):
        registered["a"]()
    with pytest.raises(ConfigError, match=r"\[generators.b\]: bad option"):
        registered["b"]()


def test_listing_shows_where_defined(project):
    from fmbench.plugins import Plugins

    root, _ = project
    (root / "fmbench.toml").write_text('[generators.my-gen]\ntype = "random"\n')
    registry = Plugins(strict=False).registry
    info = registry.get(ComponentKind.GENERATOR, "my-gen")
    assert info.defined_in == str((root / "fmbench.toml").resolve())
    assert info.describe()["defined_in"] == info.defined_in
    assert registry.get(ComponentKind.GENERATOR, "random").defined_in == ""
