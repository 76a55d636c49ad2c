"""fmbench.testing.strategies produce what they promise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fmbench.patch import Patch, find_algorithm, validate
from fmbench.testing.strategies import (
    algorithm_topologies,
    patches,
    random_topologies,
    valid_patch_dicts,
)


@settings(max_examples=100, deadline=None)
@given(valid_patch_dicts())
def test_dicts_are_strictly_valid(d):
    assert validate(d) == [] and validate(d, mode="discrete") == []


@settings(max_examples=100, deadline=None)
@given(random_topologies())
def test_random_topologies_have_at_most_one_diagonal(topo):
    mod, out = topo
    assert sum(mod[i][i] for i in range(6)) <= 1 and len(out) == 6


@settings(max_examples=50, deadline=None)
@given(algorithm_topologies())
def test_algorithm_topologies_are_dx7_algorithms(topo):
    assert find_algorithm(*topo) is not None


@settings(max_examples=100, deadline=None)
@given(valid_patch_dicts(fixed=True, syx_exact=True))
def test_fixed_and_syx_exact_options(d):
    assert any(d["fixed_freq"]) and find_algorithm(d["modmatrix"], d["outmatrix"])
    for s in range(6):
        if d["fixed_freq"][s]:
            assert d["coarse"][s] < 4 and d["detune"][s] == 0


@settings(max_examples=50, deadline=None)
@given(patches(fixed=False))
def test_patches_are_patch_objects(p):
    assert isinstance(p, Patch) and not p.has_fixed_freqs


def test_all_32_algorithms_are_reachable():
    seen: set[int] = set()

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.data())
    def collect(data):
        seen.add(find_algorithm(*data.draw(algorithm_topologies())))

    collect()
    assert seen == set(range(1, 33))
