"""parse_reply: every parsing behaviour of docs/patch-format.md#parsing, robustness and
bounded work."""

from __future__ import annotations

import json
import re

import pytest
from _patch_golden import brass as _brass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmbench.patch import Patch, PatchParseError, find_last_patch, parse_patch, parse_reply
from fmbench.patch import parse as parse_mod
from fmbench.patch.canonical import canonicalize, strip_metadata
from fmbench.testing.strategies import model_replies, patches

FENCE = "```"


@pytest.fixture
def brass() -> Patch:
    return _brass()


def fenced(body: str, tag: str = "json") -> str:
    return f"{FENCE}{tag}\n{body}\n{FENCE}"


# -- parsing behaviours ---------------------------------------------------------------
def test_last_valid_json_block_wins():
    text = "first " + fenced('{"a": 1}') + " then " + fenced('{"b": 2}') + " done"
    assert parse_reply(text) == {"b": 2}


def test_invalid_last_block_falls_back_to_earlier_block():
    text = fenced('{"a": 1}') + "\n" + fenced('{"b": 2,}')
    assert parse_reply(text) == {"a": 1}
    assert find_last_patch(text).source == "fence-json"


def test_plain_blocks_only_without_json_tagged_block():
    plain, tagged = fenced('{"plain": 1}', ""), fenced('{"tagged": 1}')
    assert parse_reply(plain + "\n" + tagged) == {"tagged": 1}
    # a later plain block loses to an earlier json-tagged one
    assert parse_reply(tagged + "\n" + plain) == {"tagged": 1}
    only_plain = "text " + plain + " text"
    assert parse_reply(only_plain) == {"plain": 1}
    assert find_last_patch(only_plain).source == "fence-plain"


def test_fenced_object_preferred_over_later_bare_object():
    text = fenced('{"fenced": 1}') + '\nand finally {"bare": 2}'
    assert parse_reply(text) == {"fenced": 1}


def test_bare_object_found_without_fence():
    found = find_last_patch('The answer is {"bare": 2}. Done.')
    assert found.data == {"bare": 2}
    assert found.source == "brace-scan"


def test_truncated_trailing_json_is_skipped():
    assert parse_reply('{"a": 1}\nmore: {"b": [1, 2, 3') == {"a": 1}


def test_fenced_array_is_ignored():
    text = f'{fenced("[1, 2]")}\n{{"obj": 1}}'
    assert parse_reply(text) == {"obj": 1}


@pytest.mark.parametrize("text", ["", "no object here", "[1, 2, 3]", "} {", "{'a': 1}"])
def test_text_without_object_raises_valueerror(text):
    with pytest.raises(PatchParseError, match="no parsable specs") as info:
        parse_reply(text)
    assert isinstance(info.value, ValueError)


def test_legacy_specs_literal_accepted():
    text = "Here you go:\nspecs = {'feedback': 7, 'on': True, 'ol': [99, 0]}\n"
    found = find_last_patch(text)
    assert found.data == {"feedback": 7, "on": True, "ol": [99, 0]}
    assert found.source == "legacy"


def test_legacy_last_match_is_used():
    text = "specs = {'a': 1}\nlater specs={'b': 2}"
    assert parse_reply(text) == {"b": 2}


@pytest.mark.parametrize(
    "text",
    [
        "specs = {'a': }",
        "specs = {'a': __import__('os').system('echo hi')}",  # never evaluated
        "specs = {1, 2}",  # a set, not a dict
        "specs = {'a': " + "[" * 100 + "]" * 100 + "}",  # too deep
        "specs = {'a': '" + "x" * 300_000 + "'}",  # too long
    ],
)
def test_broken_or_unsafe_legacy_literal_raises(text):
    with pytest.raises(PatchParseError, match="failed to parse legacy specs block"):
        parse_reply(text)


def test_nested_object_scan_order_returns_inner_object():
    assert parse_reply('{"x": {"y": 3}}') == {"y": 3}


def test_think_text_before_json_does_not_interfere(brass):
    reply = (
        "<think>\nThe user wants a brass. Maybe {feedback high}? Use alg 22 { ... \n"
        "I'll write ```json but not yet.\n</think>\n" + fenced(brass.to_pretty_json())
    )
    assert Patch.from_dict(parse_reply(reply)) == brass
    assert Patch.from_dict(parse_reply(reply.replace(FENCE + "json\n{", "{"))) == brass


# -- exact equivalence with the reference regexes (small alphabet, many cases) ------------
def _oracle(text: str) -> dict | None:
    """A direct transcription of the original parser (regex based, unbounded); None = no
    patch."""
    for tag in ("json", ""):
        bodies = re.findall(r"```" + tag + r"\s*(\{.*?\})\s*```", text, re.S)
        if bodies:
            for body in reversed(bodies):
                try:
                    return json.loads(body)
                except (ValueError, RecursionError):
                    pass
            break
    dec = json.JSONDecoder()
    for idx in reversed([m.start() for m in re.finditer(r"\{", text)]):
        try:
            return dec.raw_decode(text, idx)[0]
        except (ValueError, RecursionError):
            pass
    return None


_ALPHABET = st.sampled_from(
    ["```", "```json", "{", "}", '"a"', ":", "1", ",", "[", "]", " ", "\n", "x", "specs="]
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join))
def test_matches_reference_semantics(text):
    expected = _oracle(text)
    try:
        got = parse_reply(text)
    except PatchParseError:
        got = None
    if "specs=" in text and expected is None:
        return  # the legacy step (checked separately) may apply
    assert got == expected


# -- round trips and random input -------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(patches())
def test_roundtrip_compact_and_pretty(patch):
    assert Patch.from_dict(parse_reply(patch.to_json())) == patch
    assert Patch.from_dict(parse_reply(patch.to_pretty_json())) == patch
    assert parse_patch(fenced(patch.to_pretty_json())) == patch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_replies())
def test_roundtrip_through_model_replies(reply_and_patch):
    reply, patch = reply_and_patch
    assert Patch.from_dict(parse_reply(reply)) == patch
    assert Patch.from_dict(parse_reply(reply.encode("utf-8"))) == patch


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_random_input_only_raises_patchparseerror(data):
    try:
        result = parse_reply(data)
    except PatchParseError:
        return
    assert isinstance(result, dict)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["{", "}", '"', "[", "```json", ":", "1", "NaN", "specs = "])))
def test_random_json_fragments_only_raise_patchparseerror(parts):
    try:
        assert isinstance(parse_reply("".join(parts)), dict)
    except PatchParseError:
        pass


# -- bad input from the issue -----------------------------------------------------------
def test_non_utf8_bytes_are_replaced_not_fatal(brass):
    raw = b"\xff\xfe garbage \xc3\x28 " + brass.to_json().encode() + b"\x80"
    assert Patch.from_dict(parse_reply(raw)) == brass
    with pytest.raises(PatchParseError):
        parse_reply(b"\xff\xfe\xfd only garbage")


def test_non_text_input_is_a_parse_error():
    with pytest.raises(PatchParseError, match="expected the reply as text"):
        parse_reply(None)  # type: ignore[arg-type]


def test_nan_and_infinity_parse_but_are_floats():
    data = parse_reply('{"feedback": NaN, "transpose": Infinity, "x": -Infinity}')
    assert data["feedback"] != data["feedback"]
    assert data["transpose"] == float("inf") and data["x"] == float("-inf")


def test_ten_megabyte_reply(brass):
    text = ("lorem ipsum { dolor } " * 480_000)[:10_000_000] + fenced(brass.to_json())
    assert len(text) > 10_000_000
    assert Patch.from_dict(parse_reply(text)) == brass
    # same size without a fence: the brace scan meets 480 000 junk braces and gives up
    with pytest.raises(PatchParseError, match="brace scan stopped"):
        parse_reply(brass.to_json() + " {x}" * 2_500_000)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":' * 50_000 + "1" + "}" * 50_000,  # deep objects: the innermost one is found
        '{"a":' + "[" * 100_000 + "]" * 100_000 + "}",  # deep arrays: RecursionError inside
        fenced('{"a":' + "[" * 100_000 + "]" * 100_000 + "}"),
    ],
)
def test_deeply_nested_json_never_raises_recursionerror(text):
    try:
        assert parse_reply(text) == {"a": 1}
    except PatchParseError:
        pass


@pytest.mark.parametrize(
    "text",
    [
        "{" * 5_000_000,
        '{"' * 2_000_000,
        ('{"a":[' + "1," * 1000) * 500,
        '{"k":[' * 500 + '"' + "x" * 5_000_000,
        "```json {" * 500_000,
        "```{" * 1_000_000,
        "specs = {" * 500_000,
    ],
    ids=["braces", "brace-quote", "open-arrays", "unterminated", "json-fences", "fences", "legacy"],
)
def test_adversarial_inputs_end_with_parse_error(text):
    with pytest.raises(PatchParseError):
        parse_reply(text)


def test_object_larger_than_first_decode_window(brass):
    body = brass.to_json().replace(",", "," + " " * 2000)
    assert len(body) > 4 * parse_mod._WINDOW
    assert Patch.from_dict(parse_reply("text " + body + " text")) == brass


def test_reply_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(parse_mod, "MAX_TEXT_CHARS", 100)
    with pytest.raises(PatchParseError, match="too long"):
        parse_reply("x" * 101)
    with pytest.raises(PatchParseError, match="too long"):
        parse_reply(b"x" * 101)


# -- canonicalisation -----------------------------------------------------------------
def test_canonicalize_orders_keys_and_drops_metadata(brass):
    d = brass.to_dict()
    messy = {"name": "BRASS   1", "has_fixed_freqs": False, "has_fixed_freq": 0, "zz": 1}
    messy.update(reversed(list(d.items())))
    out = canonicalize(messy)
    assert list(out) == list(d) and out == d
    assert "name" not in strip_metadata(messy) and "zz" in strip_metadata(messy)


def test_canonicalize_missing_key_inference_vs_grpo(brass):
    d = brass.to_dict()
    del d["fine"]
    with pytest.raises(PatchParseError, match="missing key.*fine"):
        canonicalize(d)
    partial = canonicalize({"ol": [1] * 6, "name": "x", "feedback": 3}, require_all=False)
    assert list(partial) == ["feedback", "ol"]
    with pytest.raises(PatchParseError):
        canonicalize([1, 2])  # type: ignore[arg-type]


def test_documented_first_key_bound_of_the_brace_scan():
    long_key = '{"' + "k" * (parse_mod.MAX_FIRST_KEY + 1) + '": 1}'
    with pytest.raises(PatchParseError):
        parse_reply("text " + long_key)
    assert parse_reply(fenced(long_key)) == {"k" * (parse_mod.MAX_FIRST_KEY + 1): 1}
    ok_key = '{"' + "k" * parse_mod.MAX_FIRST_KEY + '": 1}'
    assert len(parse_reply("text " + ok_key)) == 1


def test_truncated_reply_says_it_is_truncated(brass):
    full = json.dumps(brass.to_dict())
    cut = "Here is the patch:\n```json\n" + full[: len(full) // 2]
    with pytest.raises(PatchParseError, match="truncated") as info:
        parse_reply(cut)
    assert "no JSON object" not in str(info.value)
    # an unterminated string at the cut is truncation too
    with pytest.raises(PatchParseError, match="truncated"):
        parse_reply('{"modmatrix": [[0, 1]], "name": "bri')


@pytest.mark.parametrize("text", ["no braces at all", '{"a": 1,} and more text', "{ not json }"])
def test_malformed_but_complete_text_is_not_called_truncated(text):
    with pytest.raises(PatchParseError) as info:
        parse_reply(text)
    assert "truncated" not in str(info.value)
