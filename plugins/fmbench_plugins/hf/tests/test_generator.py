"""The hf generator: prompt formatting, batching, seeds, output handling, bad input."""

from __future__ import annotations

import json

import pytest
from fmbench_plugins.hf.generator import HFGenerator, HFGeneratorError, split_reply
from fmbench_plugins.hf.tiny import EXAMPLE_PATCH as GT

from fmbench.benchmark import BenchmarkItem
from fmbench.contracts import Sample
from fmbench.run.runner import parse_output

ITEMS = [
    BenchmarkItem("1", "a bright electric piano"),
    BenchmarkItem("2", "a slow warm pad with a much longer caption than the first"),
    BenchmarkItem("3", "bass"),
]


@pytest.fixture(scope="module")
def gen(tiny_model):
    return HFGenerator(tiny_model, max_new_tokens=8, batch_size=3)


def test_prompt_is_one_user_turn_with_the_chat_template(gen):
    expected_user = (
        "Find the parameter values for the famous 6-OP(operator) FM synthesizer, the DX7, "
        "such that the resulting sound matches the given prompt.\n"
        "### Prompt: a bright electric piano /no_think"
    )
    assert gen.user_text("a bright electric piano  ") == expected_user
    assert gen.chat_prompt("a bright electric piano") == (
        f"<|im_start|>user\n{expected_user}<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )


def test_think_mode_prompt(tiny_model):
    g = HFGenerator(tiny_model, think=True, max_new_tokens=2)
    prompt = g.chat_prompt("pad")
    assert prompt.endswith("### Prompt: pad /think<|im_end|>\n<|im_start|>assistant\n")


def test_batched_greedy_equals_one_by_one(gen, tiny_model):
    batched = gen.generate(ITEMS, seed=0)
    single = HFGenerator(tiny_model, max_new_tokens=8, batch_size=1).generate(ITEMS, seed=0)
    assert [o.info["response_text"] for o in batched] == [o.info["response_text"] for o in single]
    for o in batched:
        assert o.raw_output is not None
        assert o.info["completion_tokens"] <= 8
        assert o.info["prompt_tokens"] > 50
        assert o.info["retries"] == 0
        assert "/no_think" in o.info["prompt"]
    assert json.loads(gen.identity.removeprefix("hf@1:"))["do_sample"] is False


def test_sampling_is_reproducible_and_retries_are_counted(tiny_model):
    g = HFGenerator(tiny_model, max_new_tokens=6, do_sample=True, retries=2, batch_size=2)
    a = g.generate(ITEMS, seed=7)
    b = g.generate(ITEMS, seed=7)
    assert [o.info["response_text"] for o in a] == [o.info["response_text"] for o in b]
    assert [o.info["retries"] for o in a] == [2, 2, 2]  # a random model never writes a patch


def test_retries_need_sampling(tiny_model):
    with pytest.raises(HFGeneratorError, match="do_sample"):
        HFGenerator(tiny_model, retries=1)


def test_empty_caption_is_a_recorded_failure(gen):
    out = gen.generate([BenchmarkItem("x", "   ")], seed=0)
    assert out[0].raw_output is None and out[0].info["error"] == "missing caption"


PATCH_BLOCK = "```json\n" + json.dumps(GT) + "\n```"


@pytest.mark.parametrize(
    ("reply", "think", "final", "found", "parses"),
    [
        ("<think>\nhmm\n</think>\n\n" + PATCH_BLOCK, "hmm", PATCH_BLOCK, True, True),
        ("no json at all", "", "no json at all", False, False),
        ("", "", "", False, False),
        ('{"a": 1} then ' + PATCH_BLOCK + " and " + PATCH_BLOCK, "", None, False, True),
        ('```json\n{"modmatrix": [[0, 1', "", None, False, False),  # truncated block
        ("<think>\nnever closes " + PATCH_BLOCK, "", None, False, True),
        ("<think>a</think><think>b</think>tail", "a</think><think>b", "tail", True, False),
    ],
)
def test_output_handling(gen, reply, think, final, found, parses):
    tok = gen.tokenizer
    ids = tok(reply, add_special_tokens=False)["input_ids"] + [tok.pad_token_id] * 2
    parts = split_reply(ids, tok, gen.think_end_id)
    assert parts["response_text"] == reply
    assert parts["think_found"] is found
    if found:
        assert parts["think_text"] == think.replace("</think>", "").replace("<think>", "")
    assert parts["final_text"] == (reply.strip() if final is None else final)
    sample = Sample(id="1", caption="c")
    parse_output(gen._output(parts), sample)
    assert sample.parsed_ok is parses
    if parses:
        assert sample.valid
    else:
        assert sample.parse_error


def test_missing_checkpoint_names_the_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(HFGeneratorError, match=str(missing)):
        HFGenerator(missing)


def test_tokenizer_without_chat_template(tiny_model_no_template):
    with pytest.raises(HFGeneratorError, match="no chat template"):
        HFGenerator(tiny_model_no_template)


def test_mismatched_lora_base_is_a_clear_error(tmp_path, tiny_model):
    from fmbench_plugins.hf.tiny import build_tiny_checkpoint
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    other = build_tiny_checkpoint(tmp_path / "wide", hidden_size=96)
    lm = AutoModelForCausalLM.from_pretrained(other)
    peft_model = get_peft_model(lm, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(tmp_path / "adapter")
    with pytest.raises(HFGeneratorError, match="does not fit base model"):
        HFGenerator(tiny_model, adapter=tmp_path / "adapter")
    # the adapter alone finds its own base and loads
    g = HFGenerator(tmp_path / "adapter", max_new_tokens=2)
    assert g.details["adapter"].endswith("adapter")
    assert len(g.generate(ITEMS[:1], seed=0)) == 1
