"""The memorisation metric: copies, near-copies and nearest distances to a train split."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fmbench_plugins.memorisation.metric import Memorisation

from fmbench.contracts import Sample
from fmbench.errors import FmbenchError
from fmbench.patch.distance import patch_similarity
from fmbench.patch.model import Patch
from fmbench.testing.patches import patch_dict, spec_b


def _p(**kw) -> Patch:
    return Patch.from_dict(patch_dict(**kw))


TRAIN = [_p(alg=1), _p(alg=5, feedback=3), Patch.from_dict(spec_b())]


def test_copies_near_copies_and_distances():
    near = patch_dict(alg=5, feedback=3)
    near["ol"][0] = 90  # a tweak: near-copy of train[1]
    samples = [
        Sample(id="copy", caption="", patch=TRAIN[2]),
        Sample(id="near", caption="", patch=Patch.from_dict(near)),
        Sample(id="new", caption="", patch=_p(alg=32, feedback=7, transpose=12)),
        Sample(id="bad", caption="", parse_error="not JSON"),
    ]
    m = Memorisation(train=TRAIN, threshold=0.03)
    r = m.score(samples)
    assert list(r.per_sample["train_copy"][:3]) == [1.0, 0.0, 0.0]
    assert list(r.per_sample["train_near_copy"][:3]) == [1.0, 1.0, 0.0]
    d = r.per_sample["nearest_train_dist"]
    assert d[0] == 0.0
    assert d[1] == pytest.approx(1 - patch_similarity(samples[1].patch, TRAIN[1]))
    expect = min(1 - patch_similarity(samples[2].patch, t) for t in TRAIN)
    assert d[2] == pytest.approx(expect) and d[2] > 0.03
    assert all(math.isnan(r.per_sample[c][3]) for c in r.per_sample)
    assert r.reasons[("train_copy", 3)] == "no valid patch (not JSON)"
    assert r.details["nearest_train_id"][:2] == ["2", "1"]


def test_needs_a_benchmark_or_patches():
    with pytest.raises(FmbenchError, match="memorisation:BENCHMARK"):
        Memorisation()
    with pytest.raises(FmbenchError, match="threshold"):
        Memorisation(train=TRAIN, threshold=2)


def test_default_benchmark_oracle_and_retrieval_like_outputs():
    from fmbench.benchmark import load_benchmark

    bench = load_benchmark("default")
    m = Memorisation(benchmark="default")
    assert "default@" in m.identity
    test = [Sample(id=i.id, caption="", patch=i.reference_patch) for i in bench.test[:20]]
    train = [Sample(id=i.id, caption="", patch=i.reference_patch) for i in bench.train[:20]]
    r = m.score(test + train)
    copies = r.per_sample["train_copy"]
    assert np.all(copies[:20] == 0) and np.all(r.per_sample["train_near_copy"][:20] == 0)
    assert np.all(copies[20:] == 1) and np.all(r.per_sample["nearest_train_dist"][20:] == 0)


def test_registered_with_the_benchmark_argument():
    from fmbench.components import ComponentKind
    from fmbench.plugins import get_registry

    info = get_registry().get(ComponentKind.METRIC, "memorisation")
    assert info.arg_option == "benchmark"
    assert all(o.worst is not None for o in info.outputs)
