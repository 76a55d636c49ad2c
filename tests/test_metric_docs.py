"""docs/metrics.md documents every built-in metric and embedder, and every per-sample
output declares the worst value the docs list for it."""

from __future__ import annotations

import math
import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from fmbench.components import ComponentKind, MetricKind
from fmbench.plugins import get_registry

DOCS = Path(__file__).resolve().parents[1] / "docs"
BUILTIN = "fmbench_plugins."


def _builtin(kind: ComponentKind) -> list:
    """The components of ``kind`` that the plugins shipped in fmbench_plugins register."""
    shipped = {ep.name for ep in entry_points(group="fmbench") if ep.value.startswith(BUILTIN)}
    return [info for info in get_registry().all() if info.kind is kind and info.plugin in shipped]


def _sections(part: str = "metrics") -> dict[str, str]:
    """``## NAME`` sections of the metrics part (before ``# Embedders``) or the embedders
    part of docs/metrics.md (``clap`` is both a metric and an embedder)."""
    text = (DOCS / "metrics.md").read_text(encoding="utf-8")
    metrics, _, embedders = text.partition("\n# Embedders\n")
    parts = re.split(r"^## (\S+)\s*$", metrics if part == "metrics" else embedders, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_builtin_metric_and_embedder_has_a_section():
    names = {i.name for i in _builtin(ComponentKind.METRIC)}
    embedders = {i.name for i in _builtin(ComponentKind.EMBEDDER)}
    assert {"mfcc", "logmel", "vggish", "passt", "clap"} <= embedders
    assert not embedders - set(_sections("embedders")), "document every embedder"
    expected = {
        "parse_rate", "validity_rate", "exact_match", "dx7_dist", "patch_errors", "rms",
        "timbral", "timbral-fast", "fad", "kad", "kl", "clap", "clap_text_synth_prefix",
        "clap_audio", "audiobox",
    }  # fmt: skip
    assert expected <= names
    missing = names - set(_sections())
    assert not missing, f"add '## NAME' sections to docs/metrics.md for {sorted(missing)}"


@pytest.mark.parametrize("info", _builtin(ComponentKind.METRIC), ids=lambda i: i.name)
def test_per_sample_outputs_declare_the_documented_worst_value(info):
    section = _sections()[info.name]
    assert "Direction" in section or "direction" in section
    assert "orst" in section  # the worst value is documented
    for out in info.outputs:
        if info.metric_kind is MetricKind.SET:
            assert out.worst is None
            continue
        assert out.worst is not None and math.isfinite(out.worst), out.name
        # the section states the value: "**Worst value:** 0", "| 1 |", "ln 10⁶", "−1"
        shown = {f"{out.worst:g}", f"{out.worst:g}".replace("-", "−"), f"{out.worst:,.0f}"}
        shown.add(f"{out.worst:,.0f}".replace(",", " "))
        if info.name == "kl":
            shown.add("ln 10⁶")
        assert any(s in section for s in shown), (info.name, out.name, out.worst)


def test_worst_values_are_the_bad_end_of_each_range():
    reg = get_registry()
    assert reg.get("metric", "rms").outputs[0].worst == 0.0
    assert reg.get("metric", "clap").outputs[0].worst == -1.0
    errors = {o.name: o.worst for o in reg.get("metric", "patch_errors").outputs}
    assert errors["feedback_error"] == 1.0 and errors["topology_match"] == 0.0
    # the cents bound is above the largest possible mean cents error
    from fmbench.patch.distance import operator_frequencies
    from fmbench.patch.model import Patch
    from fmbench.testing.patches import patch_dict

    hi = Patch.from_dict(
        patch_dict(32, coarse=[31] * 6, fine=[99] * 6, detune=[7] * 6, transpose=24)
    )
    lo = Patch.from_dict(patch_dict(32, fixed_freq=[1] * 6, coarse=[0] * 6, fine=[0] * 6))
    cents = 1200 * math.log2(operator_frequencies(hi).max() / operator_frequencies(lo).min())
    assert cents < errors["freq_cents_error"] < 1.1 * cents
    assert reg.get("metric", "kl").outputs[0].worst == pytest.approx(math.log(1e6))


def test_docs_command_lists_and_prints_pages():
    from click.testing import CliRunner

    from fmbench.cli import main

    res = CliRunner().invoke(main, ["docs"])
    assert res.exit_code == 0 and "metrics" in res.output and "example-metric" in res.output
    res = CliRunner().invoke(main, ["docs", "metrics"])
    assert res.exit_code == 0 and "## kad" in res.output
    res = CliRunner().invoke(main, ["docs", "nope"])
    assert res.exit_code == 2 and "no documentation page" in res.output
