"""Baseline generators: validity, determinism, the prior's marginals, retrieval, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fmbench_plugins.baselines.generators import (
    OracleGenerator,
    PriorGenerator,
    RandomGenerator,
    RetrievalGenerator,
    random_patch,
)
from fmbench_plugins.baselines.outputs import OutputsError, OutputsGenerator
from fmbench_plugins.baselines.retrieval import build_index

from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.errors import FmbenchError
from fmbench.patch.model import Patch


def _patch(seed: int) -> Patch:
    return random_patch(np.random.default_rng(seed))


@pytest.fixture
def bench() -> Benchmark:
    captions = [
        "a bright electric piano with a fast attack",
        "a dark slow string pad",
        "a plucked bass with a short decay",
        "a metallic bell with a long release",
    ]
    train = tuple(
        BenchmarkItem(f"t{i}", c, reference_patch=_patch(i)) for i, c in enumerate(captions)
    )
    test = (
        BenchmarkItem("q0", "slow dark pad", reference_patch=_patch(100)),
        BenchmarkItem("q1", "bell, metallic and long", reference_patch=_patch(101)),
    )
    return Benchmark("unit", "1", "unit test benchmark", test=test, train=train)


def test_random_patches_are_valid_and_seeded(bench):
    gen = RandomGenerator()
    a = gen.generate(bench.test, seed=1)
    b = gen.generate(bench.test, seed=1)
    c = gen.generate(bench.test, seed=2)
    assert [o.patch for o in a] == [o.patch for o in b]
    assert [o.patch for o in a] != [o.patch for o in c]
    for o in a:
        assert Patch.from_dict(o.patch).algorithm is not None
    # per-item seeding: generating one item alone gives the same patch as in the batch
    assert gen.generate(bench.test[1:], seed=1)[0].patch == a[1].patch


def test_prior_samples_only_values_seen_in_train(bench):
    gen = PriorGenerator()
    with pytest.raises(FmbenchError, match="before setup"):
        gen.generate(bench.test, seed=0)
    gen.setup(bench)
    train = [it.reference_patch for it in bench.train]
    topologies = {(p.modmatrix, p.outmatrix) for p in train}
    for out in gen.generate(bench.test * 20, seed=3):
        p = Patch.from_dict(out.patch)
        assert (p.modmatrix, p.outmatrix) in topologies
        for slot in range(6):
            assert p.coarse[slot] in {t.coarse[slot] for t in train}
            assert p.eg_rate[2][slot] in {t.eg_rate[2][slot] for t in train}
        assert p.transpose in {t.transpose for t in train}


def test_prior_needs_a_train_split():
    empty = Benchmark("e", "1", "", test=(BenchmarkItem("a", "x"),))
    with pytest.raises(FmbenchError, match="no train items"):
        PriorGenerator().setup(empty)


@pytest.mark.parametrize("method", ["tfidf", "bm25"])
def test_retrieval_returns_the_nearest_caption_patch(bench, method):
    gen = RetrievalGenerator(method=method)
    gen.setup(bench)
    out = gen.generate(bench.test, seed=0)
    assert (
        out[0].info["retrieved"] == 1 and out[0].patch == bench.train[1].reference_patch.to_dict()
    )
    assert out[1].info["retrieved"] == 3


def test_tfidf_scores_by_hand():
    index = build_index(["a b", "b c"], "tfidf")
    # idf: a, c → ln(3/2)+1; b → 1 (df = 2)
    w = np.log(1.5) + 1
    expected = w / np.sqrt(w**2 + 1)  # query "a" is (1, 0); doc "a b" is (w, 1) normalised
    assert index.scores(["a"])[0, 0] == pytest.approx(expected)
    assert index.scores(["a"])[0, 1] == 0.0
    assert index.scores(["zzz"]).tolist() == [[0.0, 0.0]]


def test_unknown_retrieval_method():
    with pytest.raises(FmbenchError, match="tfidf, bm25"):
        RetrievalGenerator(method="dense")


def test_oracle_returns_reference(bench):
    outs = OracleGenerator().generate(bench.test, seed=0)
    assert outs[0].patch == bench.test[0].reference_patch.to_dict()
    missing = OracleGenerator().generate([BenchmarkItem("z", "no ref")], seed=0)
    assert missing[0].patch is None and "no reference patch" in missing[0].info["error"]


def test_outputs_rows_are_normalised_per_row(tmp_path, bench):
    p0 = bench.test[0].reference_patch.to_json()
    path = tmp_path / "preds.csv"
    import csv

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "id", "patch_data", "patch_data_rendered", "response_text"])
        w.writerow([0, "q0", "FAILED", p0, ""])  # empty reply → first non-empty patch column
        w.writerow([1, "q1", "nan", "", "```json\n{}\n```"])  # reply wins in auto mode
    gen = OutputsGenerator(str(path))
    out = gen.generate([*bench.test, BenchmarkItem("q9", "absent")], seed=0)
    assert out[0].raw_output == p0 and out[0].info["column"] == "patch_data_rendered"
    assert out[1].raw_output == "```json\n{}\n```" and out[1].info["column"] == "response_text"
    assert out[2].raw_output is None and "no row for id q9" in out[2].info["error"]
    patch_only = OutputsGenerator(str(path), source="patch").generate(bench.test, seed=0)
    assert patch_only[1].raw_output is None and patch_only[1].info["error"]


def test_outputs_jsonl_and_bad_files(tmp_path, bench):
    good = tmp_path / "p.jsonl"
    good.write_text(json.dumps({"id": "q0", "patch_data": {"a": 1}}) + "\n\n")
    out = OutputsGenerator(str(good)).generate(bench.test[:1], seed=0)
    assert json.loads(out[0].raw_output) == {"a": 1}
    dup = tmp_path / "dup.csv"
    dup.write_text("id,patch_data\n1,x\n1,y\n")
    with pytest.raises(OutputsError, match="duplicate id '1'"):
        OutputsGenerator(str(dup))
    noid = tmp_path / "noid.csv"
    noid.write_text("name,patch_data\na,x\n")
    with pytest.raises(OutputsError, match="no 'id' column"):
        OutputsGenerator(str(noid))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(OutputsError, match="empty file"):
        OutputsGenerator(str(empty))
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"id": 1}\n{oops\n')
    with pytest.raises(OutputsError, match=r"b.jsonl:2"):
        OutputsGenerator(str(broken))
    with pytest.raises(OutputsError, match="not found"):
        OutputsGenerator(str(tmp_path / "missing.csv"))


def test_audio_only_outputs_are_scored_as_direct_audio(tmp_path, bench):
    import numpy as np

    from fmbench.audio import Audio, write_audio
    from fmbench.contracts import Sample
    from fmbench.run.runner import parse_output

    (tmp_path / "wav").mkdir()
    write_audio(tmp_path / "wav" / "q0.wav", Audio(0.1 * np.ones(800, np.float32), 8000))
    (tmp_path / "tta.csv").write_text("id,wav_path\nq0,wav/q0.wav\nq1,wav/missing.wav\n")
    outs = OutputsGenerator(str(tmp_path / "tta.csv")).generate(bench.test, seed=0)
    assert outs[0].audio_path == str(tmp_path / "wav" / "q0.wav")
    ok, missing = Sample("q0", "c"), Sample("q1", "c")
    parse_output(outs[0], ok)
    parse_output(outs[1], missing)
    assert ok.direct_audio and ok.valid and ok.audio.sample_rate == 8000 and ok.patch is None
    assert not missing.valid and "cannot read audio file" in missing.parse_error


def test_wav_paths_beside_patch_columns_are_ignored(tmp_path, bench):
    (tmp_path / "p.csv").write_text("id,patch_data,wav_path\nq0,FAILED,q0.wav\n")
    out = OutputsGenerator(str(tmp_path / "p.csv")).generate(bench.test[:1], seed=0)
    assert out[0].audio_path is None and out[0].raw_output is None and out[0].info["error"]


def test_outputs_csv_with_byte_order_mark_is_read(tmp_path, bench):
    p0 = bench.test[0].reference_patch.to_json()
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffid,patch_data\n".encode() + f'q0,"{p0.replace(chr(34), 2 * chr(34))}"\n'.encode()
    )
    out = OutputsGenerator(str(path)).generate(bench.test[:1], seed=0)
    assert out[0].raw_output == p0
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "q0", "patch_data": p0}).encode())
    assert OutputsGenerator(str(jsonl)).generate(bench.test[:1], seed=0)[0].raw_output == p0


def test_outputs_ids_matching_no_item_are_counted_and_named(tmp_path, bench):
    path = tmp_path / "preds.csv"
    path.write_text("id,patch_data\nq0,x\nzz1,x\nzz2,x\n")
    gen = OutputsGenerator(str(path))
    gen.setup(bench)
    assert len(gen.notes) == 1
    assert "2 of 3 rows match no item" in gen.notes[0] and "'zz1', 'zz2'" in gen.notes[0]
    matching = tmp_path / "ok.csv"
    matching.write_text("id,patch_data\nq0,x\nq1,y\n")
    fine = OutputsGenerator(str(matching))
    fine.setup(bench)
    assert fine.notes == []


def test_outputs_file_matching_no_item_is_an_error(tmp_path, bench):
    path = tmp_path / "other.csv"
    path.write_text("id,patch_data\n" + "".join(f"x{i},p\n" for i in range(8)))
    gen = OutputsGenerator(str(path))
    with pytest.raises(OutputsError, match=r"none of its 8 ids matches.*'x0'.*3 more.*'q0'"):
        gen.setup(bench)
