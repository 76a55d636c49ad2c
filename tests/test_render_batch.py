"""render_batch (order, determinism across worker counts, bounded streaming) and the
renderer-agnostic ablation/isolation transformations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fmbench.patch.model import Patch
from fmbench.render import (
    RenderSettings,
    ablate_patch,
    isolate_patch,
    modulator_closure,
    render_ablation,
    render_batch,
    render_isolated,
)
from fmbench.testing.patches import patch_dict

SHORT = RenderSettings(hold_seconds=0.08, release_seconds=0.04)


def _patch(alg: int, ol=(99, 99, 99, 99, 99, 99), feedback: int = 5) -> Patch:
    return Patch.from_dict(
        patch_dict(
            alg,
            feedback=feedback,
            coarse=[1, 2, 3, 1, 2, 1],
            ol=list(ol),
            eg_rate=[[99] * 6, [60] * 6, [40] * 6, [70] * 6],
            eg_level=[[99] * 6, [90] * 6, [80] * 6, [0] * 6],
        )
    )


PATCHES = [_patch(a, ol=(99, 70 + a % 20, 60, 99, 80, 90)) for a in range(1, 33, 3)]


def test_batch_order_and_determinism_across_workers():
    one = [a.content_hash for a in render_batch(PATCHES, SHORT, workers=1)]
    two = [a.content_hash for a in render_batch(PATCHES, SHORT, workers=2, chunk_size=1)]
    three = [
        a.content_hash
        for a in render_batch(PATCHES, SHORT, workers=2, chunk_size=3, max_in_flight=1)
    ]
    assert len(one) == len(PATCHES) and len(set(one)) == len(PATCHES)
    assert one == two == three
    from fmbench_plugins.dx7.renderer import DX7Renderer

    direct = [DX7Renderer().render(p, SHORT).content_hash for p in PATCHES]
    assert one == direct


def test_batch_streams_lazily():
    consumed = []

    def gen():
        for i, p in enumerate(itertools.cycle(PATCHES)):
            consumed.append(i)
            yield p

    out = render_batch(gen(), SHORT, workers=2, chunk_size=2, max_in_flight=2)
    first = [next(out) for _ in range(3)]
    assert len(first) == 3
    assert len(consumed) <= 3 + 2 * 2 + 2  # bounded look-ahead, not the infinite input
    out.close()


def test_batch_renderer_by_name_with_options_and_instance():
    from fmbench_plugins.dx7.renderer import DX7Renderer

    by_name = list(
        render_batch(PATCHES[:2], SHORT, renderer="dx7", renderer_options={"fidelity": "hardware"})
    )
    inst = list(render_batch(PATCHES[:2], SHORT, renderer=DX7Renderer("hardware"), workers=2))
    assert [a.content_hash for a in by_name] == [a.content_hash for a in inst]
    with pytest.raises(ValueError):
        list(render_batch(PATCHES, SHORT, workers=0))


def test_modulator_closure_and_isolation():
    p = _patch(1)  # 2→1, 4→3, 5→4, 6→5; carriers 1, 3; feedback on 6
    assert modulator_closure(p, 1) == {1, 2}
    assert modulator_closure(p, 3) == {3, 4, 5, 6}
    assert modulator_closure(p, 6) == {6}
    iso = isolate_patch(p, 3)
    assert iso.carriers == (3,)
    assert iso.operator(1).ol == 0 and iso.operator(2).ol == 0
    assert iso.operator(6).ol == p.operator(6).ol and iso.modmatrix[5][5] == 1
    assert iso.operator(1).modulators == ()


def test_isolated_carrier_plays_as_sole_carrier():
    # algorithm 32, only OP1 loud: 6 carriers → peak 2731; isolated → ÷4 only → 16383
    p = _patch(32, ol=(0, 0, 0, 0, 0, 99), feedback=0)
    p = p.replace(eg_rate=[[99] * 6] * 4, eg_level=[[99] * 6, [99] * 6, [99] * 6, [0] * 6])
    s = RenderSettings(hold_seconds=0.2, release_seconds=0.1)
    full = render_isolated(p, s, op=1)
    assert round(full.peak * 32768) == 16383
    from fmbench_plugins.dx7.renderer import DX7Renderer

    shared = round(DX7Renderer().render(p, s).peak * 32768)
    assert 2725 <= shared <= 2731  # ≈ 16383 / 6


def test_ablation_silences_operator():
    p = _patch(5)  # carriers 1, 3, 5
    s = RenderSettings(hold_seconds=0.2, release_seconds=0.1)
    ab = ablate_patch(p, 2)
    assert ab.operator(2).ol == 0 and ab.operator(1).ol == p.operator(1).ol
    base = render_ablation(p, s, off=6)  # OP6 modulates OP5
    plain = render_isolated(p, s, op=5)
    assert base.content_hash != plain.content_hash
    # silencing every carrier leaves (near) silence: the EG floor is inaudible
    quiet = p
    for k in (1, 3, 5):
        quiet = ablate_patch(quiet, k)
    from fmbench_plugins.dx7.renderer import DX7Renderer

    from fmbench.audio import is_inaudible

    audio = DX7Renderer().render(quiet, s)
    assert is_inaudible(audio) and np.all(np.isfinite(audio.samples))
    from fmbench.errors import FmbenchError

    with pytest.raises(FmbenchError):
        ablate_patch(p, 7)
