"""Hypothesis strategies for DX7 patches, shared by every test suite.

Usage::

    from hypothesis import given
    from fmbench.testing.strategies import patches, valid_patch_dicts

    @given(patches())
    def test_something(patch): ...

Topologies are drawn from the 32 DX7 algorithms or as random binary matrices with at most
one diagonal 1 (the only structural rule of the contract). Per-operator arrays
are OP6-first, like the on-disk format; fixed-frequency operators are included.
Requires ``hypothesis`` (a test dependency, not a runtime one).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from fmbench.patch.algorithms import ALGORITHMS
from fmbench.patch.model import KEY_ORDER, RANGES, Patch

__all__ = [
    "algorithm_topologies",
    "model_replies",
    "patches",
    "random_topologies",
    "topologies",
    "valid_patch_dicts",
]


def _ints(key: str) -> st.SearchStrategy[int]:
    lo, hi = RANGES[key]
    return st.integers(lo, hi)


def _row(key: str, n: int = 6) -> st.SearchStrategy[list[int]]:
    return st.lists(_ints(key), min_size=n, max_size=n)


def algorithm_topologies() -> st.SearchStrategy[tuple[list[list[int]], list[int]]]:
    """(modmatrix, outmatrix) of one of the 32 DX7 algorithms (all reachable)."""
    return st.sampled_from(ALGORITHMS).map(
        lambda a: ([list(r) for r in a.modmatrix], list(a.outmatrix))
    )


@st.composite
def random_topologies(draw: st.DrawFn) -> tuple[list[list[int]], list[int]]:
    """Arbitrary binary matrices with zero or one diagonal 1 (valid, usually not a DX7
    algorithm; all-zero ``outmatrix`` included since the contract allows it)."""
    mod = [draw(st.lists(st.integers(0, 1), min_size=6, max_size=6)) for _ in range(6)]
    for i in range(6):
        mod[i][i] = 0
    diag = draw(st.one_of(st.none(), st.integers(0, 5)))
    if diag is not None:
        mod[diag][diag] = 1
    out = draw(st.lists(st.integers(0, 1), min_size=6, max_size=6))
    return mod, out


def topologies() -> st.SearchStrategy[tuple[list[list[int]], list[int]]]:
    """Either a DX7 algorithm or a random valid topology."""
    return st.one_of(algorithm_topologies(), random_topologies())


@st.composite
def valid_patch_dicts(
    draw: st.DrawFn,
    *,
    algorithms_only: bool = False,
    fixed: bool | None = None,
    syx_exact: bool = False,
) -> dict[str, Any]:
    """A plain dict with the 12 canonical keys (canonical order, Python ints, lists).

    ``algorithms_only``: topology is one of the 32 DX7 algorithms (needed for a SysEx round
    trip). ``fixed``: True forces at least one fixed-frequency operator, False none, None
    either. ``syx_exact``: the patch survives JSON → SysEx → JSON unchanged (DX7 topology,
    fixed-mode operators have ``coarse < 4`` and ``detune == 0``).
    """
    mod, out = draw(algorithm_topologies() if (algorithms_only or syx_exact) else topologies())
    if fixed is None:
        ff = draw(st.lists(st.integers(0, 1), min_size=6, max_size=6))
    elif fixed:
        ff = draw(st.lists(st.integers(0, 1), min_size=6, max_size=6))
        ff[draw(st.integers(0, 5))] = 1
    else:
        ff = [0] * 6
    coarse = draw(_row("coarse"))
    detune = draw(_row("detune"))
    if syx_exact:
        for s in range(6):
            if ff[s]:
                coarse[s] %= 4
                detune[s] = 0
    d = {
        "modmatrix": mod,
        "outmatrix": out,
        "feedback": draw(_ints("feedback")),
        "fixed_freq": ff,
        "coarse": coarse,
        "fine": draw(_row("fine")),
        "detune": detune,
        "transpose": draw(_ints("transpose")),
        "ol": draw(_row("ol")),
        "eg_rate": [draw(_row("eg_rate")) for _ in range(4)],
        "eg_level": [draw(_row("eg_level")) for _ in range(4)],
        "sensitivity": draw(_row("sensitivity")),
    }
    assert tuple(d) == KEY_ORDER
    return d


def patches(**kwargs: Any) -> st.SearchStrategy[Patch]:
    """Valid :class:`~fmbench.patch.model.Patch` objects (same options as
    :func:`valid_patch_dicts`)."""
    return valid_patch_dicts(**kwargs).map(Patch.from_dict)


_FILLER = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{}`"),
    max_size=80,
)


@st.composite
def model_replies(draw: st.DrawFn, patch: Patch | None = None) -> tuple[str, Patch]:
    """A plausible model reply that contains ``patch`` as its last patch: optional
    ``<think>`` block and prose, then the patch as a fenced ```json block, a bare object
    (compact or pretty), or a plain ``` block. Returns ``(reply, patch)``."""
    if patch is None:
        patch = draw(patches())
    body = draw(st.sampled_from([patch.to_json(), patch.to_pretty_json()]))
    form = draw(st.sampled_from(["json_fence", "plain_fence", "bare"]))
    if form == "json_fence":
        block = f"```json\n{body}\n```"
    elif form == "plain_fence":
        block = f"```\n{body}\n```"
    else:
        block = body
    think = draw(st.one_of(st.just(""), _FILLER.map(lambda t: f"<think>\n{t}\n</think>\n")))
    before, after = draw(_FILLER), draw(_FILLER)
    return f"{think}{before}\n{block}\n{after}", patch
