"""Dataset CSVs (docs/datasets.md): round trips, index column, literal patch_data, bad input."""

from __future__ import annotations

import csv
import json

import pytest

from fmbench.dataset import (
    DatasetError,
    DatasetRow,
    load_items,
    parse_patch_data,
    read_captions,
    read_dataset,
    write_captions,
    write_dataset,
)
from fmbench.synthetic import sample_patch

HEADER = "id,wav_path,patch_data,name,inaudible,has_fixed_freqs"


def _patch_dict(i: int = 0) -> dict:
    return sample_patch(7, i)[0].to_dict()


def _row(i: int, **kw) -> DatasetRow:
    base = dict(
        id=str(i),
        wav_path=f"C/bank/{i}_NAME {i:04d}.wav",
        patch_data=_patch_dict(i),
        name=f"NAME {i:04d}",
    )
    base.update(kw)
    return DatasetRow(**base)


def _csv_line(*cells: str) -> str:
    buf = []
    w = csv.writer(_Buf(buf), lineterminator="\n")
    w.writerow(cells)
    return "".join(buf)


class _Buf:
    def __init__(self, out: list) -> None:
        self.out = out

    def write(self, s: str) -> None:
        self.out.append(s)


def test_round_trip_with_index_column(tmp_path):
    rows = [_row(0), _row(1, inaudible=True, extra={"cot": 'multi\nline "quoted"'}), _row(2)]
    path = write_dataset(tmp_path / "d.csv", rows)
    text = path.read_text()
    assert text.splitlines()[0] == "," + HEADER + ",cot"
    assert text.splitlines()[1].startswith("0,0,")
    back = read_dataset(path)
    assert [r.id for r in back] == ["0", "1", "2"]
    assert back[0].patch_data == rows[0].patch_data
    assert back[1].inaudible is True and back[0].inaudible is False
    assert back[1].extra["cot"] == 'multi\nline "quoted"'
    assert back[2].line == 5  # the cot field spans two lines
    assert back[0].has_fixed_freqs is False


def test_read_without_index_column_and_unnamed_columns(tmp_path):
    p = _patch_dict()
    text = (
        "Unnamed: 0,"
        + HEADER
        + ",Unnamed: 7\n"
        + _csv_line("5", "17", "a.wav", json.dumps(p), "X", "false", "0", "")
    )
    (tmp_path / "a.csv").write_text(text)
    (row,) = read_dataset(tmp_path / "a.csv")
    assert (row.id, row.wav_path, row.inaudible, row.extra) == ("17", "a.wav", False, {})
    (tmp_path / "b.csv").write_text(
        "\ufeff" + HEADER + "\n" + _csv_line("3.0", "b.wav", json.dumps(p), "Y", "True", "1")
    )
    (row,) = read_dataset(tmp_path / "b.csv")
    assert row.id == "3" and row.inaudible and row.has_fixed_freqs


def test_python_literal_patch_data(tmp_path):
    d = dict(_patch_dict(), name="BRASS   1", has_fixed_freqs=False)
    literal = repr(d)
    assert "'" in literal and "False" in literal
    assert parse_patch_data(literal) == d
    (tmp_path / "lit.csv").write_text(
        "," + HEADER + "\n" + _csv_line("0", "1", "x.wav", literal, "BRASS   1", "False", "False")
    )
    (row,) = read_dataset(tmp_path / "lit.csv")
    assert row.patch_data["name"] == "BRASS   1"
    items = load_items(tmp_path / "lit.csv", {"1": "a brass"})
    assert items[0].reference_patch.to_dict() == _patch_dict()


def test_literal_fallback_never_evaluates_code():
    with pytest.raises(DatasetError, match="neither JSON nor a Python literal"):
        parse_patch_data("__import__('os').system('echo hi')", where="f.csv, line 2")


def test_captions_round_trip_and_join(tmp_path):
    write_dataset(tmp_path / "d.csv", [_row(0), _row(1)])
    write_captions(tmp_path / "c.csv", {"1": "second", "0": "first, with a comma", "9": "extra"})
    caps = read_captions(tmp_path / "c.csv")
    assert caps == {"1": "second", "0": "first, with a comma", "9": "extra"}
    items = load_items(tmp_path / "d.csv", tmp_path / "c.csv")
    assert [(i.id, i.caption) for i in items] == [("0", "first, with a comma"), ("1", "second")]
    assert items[0].wav_path == "C/bank/0_NAME 0000.wav" and items[0].name == "NAME 0000"


def test_inaudible_rows_are_excluded_by_default(tmp_path):
    write_dataset(tmp_path / "d.csv", [_row(0), _row(1, inaudible=True)])
    caps = {"0": "a", "1": "b"}
    assert [i.id for i in load_items(tmp_path / "d.csv", caps)] == ["0"]
    kept = load_items(tmp_path / "d.csv", caps, exclude_inaudible=False)
    assert [i.inaudible for i in kept] == [False, True]


# -- bad input -------------------------------------------------------------------------
def _write(tmp_path, text: str, name: str = "bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_empty_file(tmp_path):
    path = _write(tmp_path, "")
    with pytest.raises(DatasetError, match=r"bad\.csv: empty file"):
        read_dataset(path)
    with pytest.raises(DatasetError, match="empty file"):
        read_captions(_write(tmp_path, "  \n", "c.csv"))


def test_header_only(tmp_path):
    with pytest.raises(DatasetError, match="no data rows"):
        read_dataset(_write(tmp_path, "," + HEADER + "\n"))


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.csv: file not found"):
        read_dataset(tmp_path / "nope.csv")


def test_missing_columns(tmp_path):
    path = _write(tmp_path, ",id,wav_path,name\n0,1,a.wav,X\n")
    with pytest.raises(DatasetError, match=r"bad\.csv: missing column\(s\) patch_data, inaudible"):
        read_dataset(path)
    with pytest.raises(DatasetError, match=r"missing column\(s\) caption"):
        read_captions(_write(tmp_path, "id,text\n1,x\n", "c.csv"))


def test_wrong_field_count(tmp_path):
    path = _write(tmp_path, "," + HEADER + "\n0,1,a.wav\n")
    with pytest.raises(DatasetError, match=r"line 2: 3 fields, but the header has 7"):
        read_dataset(path)


def test_duplicate_ids(tmp_path):
    write_dataset(tmp_path / "d.csv", [_row(0), _row(1), _row(0, wav_path="again.wav")])
    with pytest.raises(
        DatasetError, match=r"d\.csv, line 4: duplicate id '0' \(first seen on line 2\)"
    ):
        read_dataset(tmp_path / "d.csv")
    path = _write(tmp_path, "id,caption\n1,a\n2,b\n1,c\n", "c.csv")
    with pytest.raises(DatasetError, match=r"c\.csv, line 4: duplicate id '1'"):
        read_captions(path)


def test_ids_without_captions(tmp_path):
    write_dataset(tmp_path / "d.csv", [_row(0), _row(1), _row(2)])
    write_captions(tmp_path / "c.csv", {"1": "only one"})
    with pytest.raises(
        DatasetError, match=r"2 id\(s\) have no caption in .*c\.csv: 0 \(line 2\), 2 \(line 4\)"
    ):
        load_items(tmp_path / "d.csv", tmp_path / "c.csv")


def test_empty_caption(tmp_path):
    with pytest.raises(DatasetError, match=r"line 3 \(id 2\): empty caption"):
        read_captions(_write(tmp_path, "id,caption\n1,a\n2,  \n", "c.csv"))


def test_unparsable_patch_data(tmp_path):
    path = _write(
        tmp_path,
        ","
        + HEADER
        + "\n"
        + _csv_line("0", "42", "a.wav", '{"modmatrix": [1,', "X", "False", "False"),
    )
    with pytest.raises(
        DatasetError, match=r"bad\.csv, line 2 \(id 42\): patch_data is neither JSON"
    ):
        read_dataset(path)
    path = _write(
        tmp_path,
        "," + HEADER + "\n" + _csv_line("0", "42", "a.wav", "[1, 2]", "X", "False", "False"),
    )
    with pytest.raises(DatasetError, match=r"\(id 42\): patch_data is a list, not an object"):
        read_dataset(path)
    path = _write(
        tmp_path, "," + HEADER + "\n" + _csv_line("0", "42", "a.wav", "", "X", "False", "False")
    )
    with pytest.raises(DatasetError, match="patch_data is empty"):
        read_dataset(path)


def test_bad_boolean(tmp_path):
    path = _write(
        tmp_path,
        ","
        + HEADER
        + "\n"
        + _csv_line("0", "1", "a.wav", json.dumps(_patch_dict()), "X", "maybe", "False"),
    )
    with pytest.raises(
        DatasetError, match=r"line 2 \(id 1\): column 'inaudible' must be True or False"
    ):
        read_dataset(path)


def test_invalid_reference_patch_names_the_row(tmp_path):
    bad = dict(_patch_dict(), feedback=9)
    write_dataset(tmp_path / "d.csv", [_row(0), _row(1, patch_data=bad)])
    with pytest.raises(DatasetError, match=r"d\.csv, line 3 \(id 1\): invalid patch: feedback"):
        load_items(tmp_path / "d.csv", {"0": "a", "1": "b"})


def test_malformed_quoting(tmp_path):
    path = _write(tmp_path, "," + HEADER + '\n0,1,"a.wav"x,{},X,False,False\n')
    with pytest.raises(DatasetError, match="malformed CSV"):
        read_dataset(path)


# -- stored patches ----------------------------------------------------------------------
def test_a_second_load_reads_the_stored_patches_not_the_json(tmp_path, monkeypatch):
    import fmbench.dataset as dataset_mod
    from fmbench.cache import Cache
    from fmbench.patch.model import N_VALUES, Patch

    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "d.csv"
    write_dataset(path, [_row(i) for i in range(5)] + [_row(5, inaudible=True)])
    caps = {str(i): f"c{i}" for i in range(6)}
    first = load_items(path, caps)
    assert len(Cache().keys(dataset_mod.DATASET_PATCHES)) == 1

    def no_json(*args, **kwargs):
        raise AssertionError("patch JSON parsed although the patches are stored")

    with monkeypatch.context() as m:
        m.setattr(dataset_mod, "parse_patch_data", no_json)
        assert load_items(path, caps) == first
    # another inaudible policy and changed bytes are other entries
    assert len(load_items(path, caps, exclude_inaudible=False)) == 6
    write_dataset(path, [_row(i) for i in range(4)])
    assert [i.id for i in load_items(path, caps)] == ["0", "1", "2", "3"]
    assert len(Cache().keys(dataset_mod.DATASET_PATCHES)) == 3
    for item in first:
        p = item.reference_patch
        assert len(p.to_values()) == N_VALUES and Patch.from_values(p.to_values()) == p


def test_stored_patches_that_do_not_fit_are_ignored(tmp_path, monkeypatch):
    import numpy as np

    import fmbench.dataset as dataset_mod
    from fmbench.cache import Cache

    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "d.csv"
    write_dataset(path, [_row(i) for i in range(3)])
    caps = {str(i): f"c{i}" for i in range(3)}
    expected = load_items(path, caps)
    (key,) = Cache().keys(dataset_mod.DATASET_PATCHES)
    for wrong in (np.zeros((2, 128), np.int16), np.zeros((3, 7), np.int16)):
        Cache().put(dataset_mod.DATASET_PATCHES, key, wrong)
        assert load_items(path, caps) == expected
    monkeypatch.setenv("FMBENCH_CACHE", "off")
    assert load_items(path, caps) == expected
