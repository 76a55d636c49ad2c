"""GRPO rewards (docs/prompts-and-training.md#grpo-rewards) against hand-computed values,
incl. format/parse failures."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest

from fmbench.audio import Audio
from fmbench.cache import Cache
from fmbench.rewards import (
    RewardError,
    RewardPool,
    completion_text,
    dx7_dist,
    dx7_dist_topology_gate,
    flatten_params,
    get_reward,
    load_answer,
    make_dx7_dist,
    metric_reward,
    reward_functions,
    toolrl_exact,
    toolrl_topology_gate,
)
from fmbench.testing.patches import spec_b

# the pretty-form example voice (valid: one diagonal 1, feedback 7) = golden spec B
GT = spec_b()
ANSWER = json.dumps(GT, separators=(",", ":"))


def fenced(d) -> str:
    return "<think>\n\n</think>\n\n```json\n" + json.dumps(d, indent=2) + "\n```"


def both(completion):
    return (
        toolrl_exact(None, [completion], answer=[ANSWER])[0],
        dx7_dist(None, [completion], answer=[ANSWER])[0],
    )


def test_gt_has_128_parameters():
    assert len(flatten_params(GT)) == 128
    assert load_answer(ANSWER) == GT


def test_perfect_reply_gets_the_maximum():
    assert both(fenced(GT)) == pytest.approx((4.0, 4.5))


@pytest.mark.parametrize(
    "reply",
    [
        "",  # empty reply
        "I cannot do that.",  # no JSON
        '```json\n{"modmatrix": [[0,1,0\n```',  # truncated block, nothing else
        "<think>\nlet me think about {the modmatrix",  # <think> that never closes, no JSON
        "[1, 2, 3]",  # JSON, but not an object
    ],
)
def test_unparsable_gets_minus_three(reply):
    assert both(reply) == (-3.0, -3.0)


def test_all_names_present_all_values_wrong():
    wrong = json.loads(json.dumps(GT))

    def bump(v):
        return [bump(x) for x in v] if isinstance(v, list) else v + 1000

    wrong = {k: bump(v) for k, v in wrong.items()}
    r_correct = 6 * 2 / 130 - 3  # r_name 1, r_param 1, r_value 0
    assert r_correct == pytest.approx(-2.9076923)
    # invalid (out of range) → R_format 0
    assert toolrl_exact(None, [fenced(wrong)], answer=[ANSWER]) == pytest.approx([r_correct])
    # dx7_dist: parsed but invalid → R_valid 0, all 12 keys → R_keys 0.5, D = 0
    assert dx7_dist(None, [fenced(wrong)], answer=[ANSWER]) == pytest.approx([0.5])


def test_valid_but_different_patch_gets_format_point():
    pred = copy.deepcopy(GT)
    pred["feedback"] = 0  # |Δ| = 7 = the whole range → s_feedback = 0
    r_tool = 1 + 6 * (1 + 1 + 127) / 130 - 3
    r_dx7 = 1 + 0.5 + 3 * (24.5 - 3) / 24.5
    assert both(fenced(pred)) == pytest.approx((r_tool, r_dx7))
    assert r_dx7 == pytest.approx(4.1326531)


def test_partial_prediction_costs_keys_and_distance():
    pred = {"modmatrix": GT["modmatrix"], "outmatrix": GT["outmatrix"], "name": "EPIANO"}
    # toolrl: invalid (missing keys) → R_format 0; 42 of 128 names, all correct
    r_tool = 6 * (1 + 42 / 128 + 42) / 130 - 3
    # dx7_dist: R_valid 0, R_keys 0.5·2/12, D = (4 + 4)/24.5
    r_dx7 = 0.5 * 2 / 12 + 3 * 8 / 24.5
    assert both(fenced(pred)) == pytest.approx((r_tool, r_dx7))


def test_extra_elements_lower_r_param():
    pred = copy.deepcopy(GT)
    pred["ol"] = [*GT["ol"], 50]  # one extra name → Jaccard 128/129; now invalid
    expected = 6 * (1 + 128 / 129 + 128) / 130 - 3
    assert toolrl_exact(None, [fenced(pred)], answer=[ANSWER]) == pytest.approx([expected])


def test_several_json_blocks_last_valid_wins():
    other = copy.deepcopy(GT)
    other["transpose"] = 24
    reply = fenced(other) + "\nActually:\n" + fenced(GT)
    assert both(reply) == pytest.approx((4.0, 4.5))
    reply = fenced(GT) + '\n```json\n{"modmatrix": [[0,1\n```'  # truncated last block
    assert both(reply) == pytest.approx((4.0, 4.5))


def test_numeric_strings_match_values_but_are_invalid():
    pred = json.loads(json.dumps(GT))
    pred["feedback"] = "7"
    tool, dx7 = both(fenced(pred))
    assert tool == pytest.approx(3.0)  # all 128 values match; validate_specs rejects strings
    assert dx7 == pytest.approx(3.5)


def test_topology_gate():
    pred = copy.deepcopy(GT)
    pred["modmatrix"][0][2] = 1  # one wrong modmatrix cell; still valid
    gate_tool = toolrl_topology_gate(None, [fenced(pred)], answer=[ANSWER])[0]
    assert gate_tool == pytest.approx(1 + 6 * (1 + 1 + 35 + 6) / 130 - 3)
    assert toolrl_exact(None, [fenced(pred)], answer=[ANSWER])[0] == pytest.approx(
        1 + 6 * (1 + 1 + 127) / 130 - 3
    )
    d_gated = (4 * 35 / 36 + 4) / 24.5
    got = dx7_dist_topology_gate(None, [fenced(pred)], answer=[ANSWER])[0]
    assert got == pytest.approx(1 + 0.5 + 3 * d_gated)
    assert dx7_dist_topology_gate(None, [fenced(GT)], answer=[ANSWER]) == pytest.approx([4.5])


def test_chat_message_completions_and_batching():
    msgs = [{"role": "assistant", "content": fenced(GT)}]
    out = dx7_dist([None, None], [msgs, "nothing"], answer=[ANSWER, ANSWER])
    assert out == pytest.approx([4.5, -3.0])
    assert completion_text([{"role": "assistant", "content": "a"}, {"content": "b"}]) == "a\nb"
    # a single answer is broadcast
    assert dx7_dist(None, [fenced(GT)], answer=ANSWER) == pytest.approx([4.5])


def test_bad_ground_truth_gives_penalty():
    bad = dict(GT)
    del bad["ol"]
    for answer in ("not json", json.dumps(bad), json.dumps({**GT, "feedback": 9})):
        assert toolrl_exact(None, [fenced(GT)], answer=[answer]) == [-3.0]
        assert dx7_dist(None, [fenced(GT)], answer=[answer]) == [-3.0]


def test_missing_answers_is_a_clear_error():
    with pytest.raises(RewardError, match="answer"):
        dx7_dist(None, ["x"])
    with pytest.raises(RewardError, match="2 answers for 1"):
        dx7_dist(None, ["x"], answer=[ANSWER, ANSWER])


def test_key_weights_override():
    pred = copy.deepcopy(GT)
    pred["feedback"] = 0
    only_fb = make_dx7_dist(weights={k: 0 for k in GT} | {"feedback": 1, "bogus": 5})
    assert only_fb(None, [fenced(pred)], answer=[ANSWER]) == pytest.approx([1.5])
    fns = reward_functions("dx7_dist,toolrl_exact", key_weights={"feedback": 0})
    assert [f.__name__ for f in fns] == ["dx7_dist", "toolrl_exact"]
    assert fns[0](None, [fenced(pred)], answer=[ANSWER]) == pytest.approx([4.5])


def test_get_reward_errors():
    with pytest.raises(RewardError, match="unknown reward"):
        get_reward("dx7")
    with pytest.raises(RewardError, match="empty metric"):
        get_reward("metric:")
    with pytest.raises(RewardError, match="no reward"):
        reward_functions(" , ")


def test_metric_reward_from_patch_metric():
    fn = get_reward("metric:dx7_dist")
    assert fn.__name__ == "metric_dx7_dist"
    pred = copy.deepcopy(GT)
    pred["feedback"] = 0
    out = fn(None, [fenced(GT), fenced(pred), "nothing", fenced({"x": 1})], answer=ANSWER)
    assert out[:2] == pytest.approx([1.0, 21.5 / 24.5])
    assert out[2:] == [-1.0, -1.0]  # the documented penalty (no declared worst → −1)


class _SineRenderer:
    """A fast stand-in renderer: the frequency follows ol[5] (OP1's level)."""

    identity = "test-sine@1"

    def __init__(self):
        self.calls = 0

    def render(self, patch, settings):
        self.calls += 1
        t = np.arange(settings.num_samples) / settings.sample_rate
        env = np.exp(-t * (1 + patch.ol[5] / 10))
        return Audio(
            (0.4 * env * np.sin(2 * np.pi * 220 * t)).astype(np.float32), settings.sample_rate
        )


def test_metric_reward_renders_through_the_cache(tmp_path):
    renderer = _SineRenderer()
    cache = Cache(tmp_path / "cache")
    fn = metric_reward("rms", renderer=renderer, cache=cache)
    other = copy.deepcopy(GT)
    other["ol"][5] = 10
    out = fn(None, [fenced(GT), fenced(other), "no patch"], answer=ANSWER)
    assert out[0] == pytest.approx(1.0, abs=1e-6)  # identical audio → cosine 1
    assert 0 < out[1] < out[0]
    assert out[2] < 0
    assert renderer.calls == 2  # GT and `other`, each rendered once
    again = metric_reward("rms", renderer=renderer, cache=cache)
    assert again(None, [fenced(GT)], answer=ANSWER) == pytest.approx([out[0]])
    assert renderer.calls == 2  # served from the cache


class _PoolSineRenderer(_SineRenderer):
    identity = "test-sine-pool@1"  # its own render keys: no sharing with the test above


def test_reward_pool_reuses_its_workers_and_matches_in_process():
    variants = []
    for level in (10, 40, 70):
        v = copy.deepcopy(GT)
        v["ol"][5] = level
        variants.append(v)
    completions = [fenced(GT), *map(fenced, variants), "no patch", fenced(variants[0])]
    local = metric_reward("rms", renderer=_PoolSineRenderer(), cache=Cache(None))
    expected = local(None, completions, answer=ANSWER)
    assert expected[4] < 0 and len(set(expected[:4])) == 4
    with RewardPool(workers=2) as pool:
        assert len(pool.pids) == 2 and os.getpid() not in pool.pids
        fn = metric_reward("rms", renderer=_PoolSineRenderer(), cache=Cache(None), pool=pool)
        first = fn(None, completions, answer=ANSWER)
        pids = pool.last_pids
        second = fn(None, completions[::-1], answer=ANSWER)
        assert first == expected and second == expected[::-1]
        assert pool.last_pids == pids == pool.pids  # the same two processes, both used
    assert pool.closed
    with pytest.raises(RewardError, match="closed"):
        fn(None, completions, answer=ANSWER)
    with pytest.raises(RewardError, match="registry"):
        metric_reward("rms", registry=object(), pool=pool)


def test_metric_reward_rejects_set_metrics():
    with pytest.raises(RewardError, match="set-level"):
        metric_reward("fad")
