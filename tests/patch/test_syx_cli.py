"""`fmbench patch from-syx` / `to-syx` end to end on the real banks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fmbench.cli import main
from fmbench.patch.syx import read_syx

SYX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dx7" / "syx"
pytestmark = pytest.mark.skipif(not SYX.is_dir(), reason="../shared/data/dx7/syx not available")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_from_syx_all_banks(tmp_path):
    out = tmp_path / "all.jsonl"
    banks = sorted(str(p) for p in SYX.glob("*.syx"))
    res = run("patch", "from-syx", *banks, "-o", str(out))
    assert res.exit_code == 0, res.output
    recs = records(out)
    assert len(recs) == 256
    assert recs[0]["id"] == "Dexed_01/0" and recs[0]["bank"] == "Dexed_01"
    assert len({r["id"] for r in recs}) == 256
    by_id = {r["id"]: r for r in recs}
    brass = by_id["rom1a/0"]
    assert brass["name"] == "BRASS   1" and brass["index"] == 0 and brass["clamped"] == []
    assert list(brass["patch"]) == [
        "modmatrix",
        "outmatrix",
        "feedback",
        "fixed_freq",
        "coarse",
        "fine",
        "detune",
        "transpose",
        "ol",
        "eg_rate",
        "eg_level",
        "sensitivity",
    ]
    assert by_id["Dexed_01/8"]["clamped"] == [{"parameter": "OP2 fine", "raw": 127, "value": 99}]
    assert sum(bool(r["clamped"]) for r in recs) == 14
    assert "vced" not in brass
    err = res.stderr
    assert "clamped #9 'SAW EM UP' (Dexed_01/8): OP2 fine 127->99" in err
    assert "OP4 detune 15->14" in err
    assert "256 voices from 8 bank(s)" in err and "14 voice(s) clamped" in err


def test_from_syx_options(tmp_path):
    out = tmp_path / "r.jsonl"
    res = run("patch", "from-syx", str(SYX / "rom1a.syx"), "-o", str(out), "--name-length", "10")
    assert res.exit_code == 0
    assert records(out)[0]["name"] == "BRASS   1 "
    res = run("patch", "from-syx", str(SYX / "rom1a.syx"), "-o", "-")
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 32


def test_from_syx_reject_and_bad_files(tmp_path):
    out = tmp_path / "r.jsonl"
    res = run(
        "patch", "from-syx", str(SYX / "Dexed_01.syx"), "-o", str(out), "--out-of-range", "reject"
    )
    assert res.exit_code == 2 and not out.exists()
    assert "voice 9 'SAW EM UP': OP2 fine = 127" in res.stderr and "Traceback" not in res.output
    bad = tmp_path / "bad.syx"
    bad.write_bytes((SYX / "rom1a.syx").read_bytes()[:1000])
    res = run("patch", "from-syx", str(bad), "-o", str(out))
    assert res.exit_code == 2 and "no end byte" in res.stderr
    res = run("patch", "from-syx", str(tmp_path / "nope.syx"), "-o", str(out))
    assert res.exit_code == 2 and "cannot read" in res.stderr
    other = tmp_path / "x" / "rom1a.syx"
    other.parent.mkdir()
    other.write_bytes((SYX / "rom1a.syx").read_bytes())
    res = run("patch", "from-syx", str(SYX / "rom1a.syx"), str(other), "-o", str(out))
    assert res.exit_code == 2 and "same stem" in res.stderr


@pytest.mark.parametrize("bank", ["rom1a", "rom2b", "VRC-105-A"])
def test_full_records_round_trip_byte_exact(tmp_path, bank):
    out, syx = tmp_path / "r.jsonl", tmp_path / "r.syx"
    assert (
        run("patch", "from-syx", "--full", str(SYX / f"{bank}.syx"), "-o", str(out)).exit_code == 0
    )
    assert len(records(out)[0]["vced"]) == 155
    res = run("patch", "to-syx", str(out), "-o", str(syx))
    assert res.exit_code == 0, res.output
    assert syx.read_bytes() == (SYX / f"{bank}.syx").read_bytes()


def test_records_round_trip_patches(tmp_path):
    out, syx, again = tmp_path / "r.jsonl", tmp_path / "r.syx", tmp_path / "again.jsonl"
    run("patch", "from-syx", str(SYX / "rom1a.syx"), "-o", str(out))
    assert run("patch", "to-syx", str(out), "-o", str(syx)).exit_code == 0
    assert run("patch", "from-syx", str(syx), "-o", str(again)).exit_code == 0
    a, b = records(out), records(again)
    assert [r["patch"] for r in a] == [r["patch"] for r in b]
    assert [r["name"] for r in a] == [r["name"] for r in b]
    v = read_syx(syx)[0]
    assert v.name == "BRASS   1 " and v.lfo_speed == 35  # 9-char name padded; LFO from init


def test_to_syx_bare_patches_padding_and_stdin(tmp_path):
    bank = read_syx(SYX / "rom1b.syx")
    lines = []
    for i in range(3):
        d = bank[i].to_patch().to_dict()
        d["name"] = f"bare {i}"
        lines.append(json.dumps(d))
    syx = tmp_path / "b.syx"
    res = run(
        "patch", "to-syx", "-", "-o", str(syx), "--channel", "2", input="\n".join(lines) + "\n\n"
    )
    assert res.exit_code == 0, res.output
    assert "wrote 3 voices (+29 init voices)" in res.stderr
    back = read_syx(syx)
    assert back.channel == 1 and back[1].name == "bare 1    "
    assert [v.to_patch() for v in back.voices[:3]] == bank.to_patches()[:3]
    assert back[3].name == "INITVOICE "


def test_to_syx_more_than_32(tmp_path):
    out = tmp_path / "all.jsonl"
    run("patch", "from-syx", str(SYX / "rom1a.syx"), str(SYX / "rom1b.syx"), "-o", str(out))
    with out.open("a") as fh:
        fh.write(out.read_text().splitlines()[0] + "\n")
    res = run("patch", "to-syx", str(out), "-o", str(tmp_path / "big.syx"))
    assert res.exit_code == 2 and "65 patches" in res.stderr and "--split" in res.stderr
    res = run("patch", "to-syx", str(out), "-o", str(tmp_path / "big.syx"), "--split")
    assert res.exit_code == 0
    files = sorted(p.name for p in tmp_path.glob("big-*.syx"))
    assert files == ["big-01.syx", "big-02.syx", "big-03.syx"]
    assert (
        read_syx(tmp_path / "big-01.syx").to_patches() == read_syx(SYX / "rom1a.syx").to_patches()
    )
    last = read_syx(tmp_path / "big-03.syx")
    assert last[0].name_metadata() == "BRASS   1" and last[1].name == "INITVOICE "


def test_to_syx_bad_input(tmp_path):
    src = tmp_path / "p.jsonl"
    good = read_syx(SYX / "rom1a.syx")[0].to_patch().to_dict()
    cases = [
        ("{not json\n", "line 1: not valid JSON"),
        ("[1, 2]\n", "expected a JSON object"),
        (json.dumps({**good, "feedback": 9}) + "\n", "line 1"),
        (json.dumps({"patch": good, "name": 5}) + "\n", "'name' must be a string"),
        (json.dumps({"patch": good, "vced": [1, 2]}) + "\n", "bad 'vced'"),
        ("\n", "no patches"),
    ]
    for text, message in cases:
        src.write_text(text)
        res = run("patch", "to-syx", str(src), "-o", str(tmp_path / "o.syx"))
        assert res.exit_code == 2, text
        assert message in res.stderr and "Traceback" not in res.output
    src.write_bytes(b"\xff\xfe\x00")
    res = run("patch", "to-syx", str(src), "-o", str(tmp_path / "o.syx"))
    assert res.exit_code == 2 and "not UTF-8" in res.stderr


def test_to_syx_unknown_topology(tmp_path):
    src = tmp_path / "p.jsonl"
    d = read_syx(SYX / "rom1a.syx")[0].to_patch().to_dict()
    d["outmatrix"] = [0] * 6
    src.write_text(json.dumps(d) + "\n")
    out = tmp_path / "o.syx"
    res = run("patch", "to-syx", str(src), "-o", str(out))
    assert res.exit_code == 2 and "none of the 32 DX7 algorithms" in res.stderr
    assert not out.exists()
    res = run("patch", "to-syx", str(src), "-o", str(out), "--fallback-algorithm", "32")
    assert res.exit_code == 0 and "wrote algorithm 32" in res.stderr
    assert read_syx(out)[0].algorithm == 32
