"""Benchmark definitions: TOML loading, the built-in synthetic benchmark, the plugin.

The real-voice ``default`` benchmark has its own tests in ``tests/test_corpus.py``.
"""

from __future__ import annotations

import textwrap

import pytest

from fmbench.benchmark import (
    BenchmarkDefinitionError,
    builtin_benchmark_files,
    load_benchmark,
    load_benchmark_file,
)
from fmbench.components import ComponentKind
from fmbench.dataset import DatasetRow, write_captions, write_dataset
from fmbench.errors import UnknownComponentError
from fmbench.patch.validate import validate
from fmbench.plugins import Plugins, get_registry
from fmbench.synthetic import sample_patch


@pytest.fixture(scope="module")
def default():
    """The synthetic benchmark (the default before real voices; same data as then)."""
    return load_benchmark("synthetic")


def test_default_benchmark_loads(default):
    assert default.identity == "synthetic@1"
    assert len(default.test) == 100 and len(default.train) == 1000
    assert default.renderer == "dx7"
    assert default.render.sample_rate == 48000 and default.render.num_samples == 460_800
    assert "parse_rate" in default.metrics and "kad:mfcc" in default.metrics
    assert default.source is not None and default.source.name == "synthetic.toml"


def test_default_items_are_valid_and_captioned(default):
    ids = set()
    for item in default.test + default.train:
        assert item.caption.strip() and item.caption.endswith(".")
        assert item.reference_patch is not None
        assert validate(item.reference_patch.to_dict()) == []
        assert not item.inaudible
        assert item.wav_path.startswith("fmbench_default/bank")
        assert item.id not in ids
        ids.add(item.id)
    hashes = {i.reference_patch.content_hash for i in default.test + default.train}
    assert len(hashes) == 1100  # de-duplicated by content
    test_hashes = {i.reference_patch.content_hash for i in default.test}
    assert not test_hashes & {i.reference_patch.content_hash for i in default.train}


def test_default_split_follows_content_hash(default):
    from fmbench.datagen import DEFAULT_TEST_FRACTION, split_of

    for item in default.test[:20]:
        assert split_of(item.reference_patch.content_hash, DEFAULT_TEST_FRACTION) == "test"
    for item in default.train[:20]:
        assert split_of(item.reference_patch.content_hash, DEFAULT_TEST_FRACTION) == "train"


def test_default_covers_the_prior(default):
    algs = {i.reference_patch.algorithm for i in default.train}
    assert len(algs) == 32
    fixed = sum(i.reference_patch.has_fixed_freqs for i in default.train)
    assert 0 < fixed < 200  # fixed-frequency operators are rare
    words = {i.caption.split(":")[0] for i in default.train}
    assert len(words) >= 8  # many instrument labels, not one template


def test_items_limit(default):
    assert default.items(5) == default.test[:5]


def test_builtin_files_ship_in_the_package():
    names = {p.stem for p in builtin_benchmark_files()}
    assert {"default", "smoke", "synthetic", "dx7-full"} <= names
    for p in builtin_benchmark_files():
        assert "fmbench/data/benchmarks" in p.as_posix()


def test_registered_by_the_benchmarks_plugin():
    info = get_registry().get(ComponentKind.BENCHMARK, "default")
    assert info.plugin == "benchmarks" and info.version == "2"
    with pytest.raises(UnknownComponentError, match="did you mean 'default'"):
        load_benchmark("defualt")


# -- user definitions ----------------------------------------------------------------
def _tiny(tmp_path, toml: str):
    rows = [
        DatasetRow(id=str(i), wav_path=f"x/{i}.wav", patch_data=sample_patch(3, i)[0].to_dict())
        for i in range(4)
    ]
    write_dataset(tmp_path / "data" / "test.csv", rows[:3])
    write_dataset(tmp_path / "data" / "train.csv", rows[3:])
    write_captions(tmp_path / "data" / "caps.csv", {str(i): f"caption {i}" for i in range(4)})
    path = tmp_path / "b.toml"
    path.write_text(textwrap.dedent(toml))
    return path


GOOD = """
    name = "tiny"
    version = 2
    metrics = ["rms"]
    [data]
    test = "data/test.csv"
    train = "data/train.csv"
    captions = "data/caps.csv"
    [render]
    notes = [48, 60]
    hold_seconds = 0.5
    release_seconds = 0.25
"""


def test_load_from_path(tmp_path):
    path = _tiny(tmp_path, GOOD)
    b = load_benchmark(str(path))
    assert (b.name, b.version, b.metrics) == ("tiny", "2", ("rms",))
    assert [i.caption for i in b.test] == ["caption 0", "caption 1", "caption 2"]
    assert [i.id for i in b.train] == ["3"]
    assert b.render.notes == (48, 60) and b.render.hold_seconds == 0.5
    assert load_benchmark_file(path).test == b.test


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('name = "tiny"', 'name = "a b"'), "'name' must be"),
        (lambda t: t.replace("version = 2", ""), "'version' is required"),
        (lambda t: t.replace('test = "data/test.csv"', ""), r"\[data\] test = .* is required"),
        (lambda t: t.replace('captions = "data/caps.csv"', ""), "needs captions"),
        (lambda t: t + "\nfoo = 1\n", r"unknown \[render\] key\(s\) foo"),
        (lambda t: "colour = 1\n" + t, r"unknown key\(s\) colour"),
        (lambda t: t.replace("[data]", "[data]\nlimit = 0"), "limit must be >= 1"),
        (lambda t: t.replace("notes = [48, 60]", "notes = [200]"), r"\[render\]: notes must be"),
        (lambda t: t.replace("metrics = [", "metrics = [1, "), "'metrics' must be a list"),
        (lambda t: t.replace('name = "tiny"', 'name = "tiny'), "invalid TOML"),
    ],
)
def test_bad_definitions(tmp_path, edit, message):
    path = _tiny(tmp_path, edit(textwrap.dedent(GOOD)))
    with pytest.raises(BenchmarkDefinitionError, match=message) as err:
        load_benchmark(str(path))
    assert "b.toml" in str(err.value)


def test_missing_data_file_is_named(tmp_path):
    path = _tiny(tmp_path, GOOD.replace("data/test.csv", "data/nope.csv"))
    with pytest.raises(Exception, match=r"nope\.csv: file not found"):
        load_benchmark(str(path))


def test_plugin_finds_user_benchmarks_and_isolates_broken_ones(tmp_path, monkeypatch):
    _tiny(tmp_path, GOOD)
    (tmp_path / "broken.toml").write_text("name = \n")
    monkeypatch.setenv("FMBENCH_BENCHMARKS_PATH", str(tmp_path))
    plugins = Plugins(only=["benchmarks"], strict=True)
    reg = plugins.registry
    assert {"default", "smoke", "tiny", "broken"} <= set(reg.names(ComponentKind.BENCHMARK))
    assert [i.caption for i in reg.create(ComponentKind.BENCHMARK, "tiny").test][0] == "caption 0"
    assert "BROKEN" in reg.get(ComponentKind.BENCHMARK, "broken").summary
    with pytest.raises(BenchmarkDefinitionError, match="invalid TOML"):
        reg.create(ComponentKind.BENCHMARK, "broken")
