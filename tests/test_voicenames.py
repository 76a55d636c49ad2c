"""The voice-name classifier against hand-labelled real DX7 names.

``tests/data/voice_name_families.csv`` labels 202 names from the eight banks of
``shared/data/dx7/syx`` (the four factory ROMs, Dexed_01, SynprezFM_01, VRC-105-A and
VRC-110-A) with the family a reader would give them, or none when the name does not say.
The vocabulary was tuned on the rest of the corpus, not on these labels.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from fmbench.voicenames import FAMILIES, classify_name, name_tokens

LABELS = Path(__file__).parent / "data" / "voice_name_families.csv"


def _labelled() -> list[tuple[str, str]]:
    with open(LABELS, newline="", encoding="utf-8") as fh:
        return [(r["name"], r["family"]) for r in csv.DictReader(fh)]


def test_labelled_list_is_large_and_uses_known_families():
    rows = _labelled()
    assert len(rows) >= 150
    assert {f for _, f in rows} - {""} <= set(FAMILIES)
    named = Counter(f for _, f in rows if f)
    assert len(named) >= 15  # most families are represented
    assert sum(1 for _, f in rows if not f) >= 30  # and uninformative names


def test_agreement_rate_on_labelled_real_names():
    rows = _labelled()
    got = [(name, fam, classify_name(name)) for name, fam in rows]
    agree = [fam == (c.family if c else "") for _, fam, c in got]
    rate = sum(agree) / len(agree)
    named = [(fam, c) for _, fam, c in got if fam]
    named_rate = sum(c is not None and c.family == fam for fam, c in named) / len(named)
    unnamed = [c for _, fam, c in got if not fam]
    false_instrument = sum(c is not None for c in unnamed) / len(unnamed)
    misses = [(n, f, c and c.family) for (n, f, c), ok in zip(got, agree, strict=True) if not ok]
    assert rate >= 0.97, misses
    assert named_rate >= 0.97, misses
    assert false_instrument <= 0.05, misses


@pytest.mark.parametrize(
    "name, tokens",
    [
        ("E.PIANO 1", ["E", "PIANO"]),
        ("Ac.StlGtr1", ["AC", "STL", "GTR"]),
        ("BsEPiano8", ["BS", "E", "PIANO"]),
        ("SYN-LEAD 1", ["SYN", "LEAD"]),
        ("glassbell", ["GLASSBELL"]),
    ],
)
def test_tokens(name, tokens):
    assert name_tokens(name) == tokens


@pytest.mark.parametrize(
    "name, family, label",
    [
        ("E.PIANO 5", "epiano", "electric piano"),
        ("EP DlyStr", "epiano", "electric piano"),
        ("TROMBONE", "brass", "trombone"),
        ("ORGAN A", "organ", "organ"),
        ("STRINGS A", "strings", "strings"),
        ("SYN-BRASS", "brass", "brass"),
        ("SYN BASS", "bass", "bass"),
        ("SYNBRASS 2", "brass", "brass"),
        ("BASSOON", "reed", "bassoon"),
        ("BASS DRUM", "percussion", "bass drum"),
        ("COW BELL", "percussion", "cowbell"),
        ("TUB BELLS", "bell", "tubular bells"),
        ("HARPSICH 2", "harpsichord", "harpsichord"),
        ("HARP    1", "plucked", "harp"),
        ("GUITAR  1", "plucked", "guitar"),
        ("PIPES   1", "organ", "pipe organ"),
        ("VOICE 1", "choir", "voice"),
        ("CLAV 1", "clav", "clavinet"),
        ("MARIMBA", "mallet", "marimba"),
        ("SYN-LEAD 1", "lead", "synth lead"),
        ("PERC ORGAN", "organ", "organ"),
        ("StringBass", "bass", "string bass"),
        ("ElecPian12", "epiano", "electric piano"),
    ],
)
def test_named_instruments(name, family, label):
    got = classify_name(name)
    assert got is not None and (got.family, got.label) == (family, label)


@pytest.mark.parametrize(
    "name", ["TEQUILA", "N.Y. 50", "INIT VOICE", "", "   ", "ORGANIC", "12345"]
)
def test_uninformative_names(name):
    assert classify_name(name) is None
