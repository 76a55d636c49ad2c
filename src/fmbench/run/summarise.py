"""The summary stage: scored metrics → per-sample columns and :class:`MetricSummary` objects.

Under ``score-as-failure`` every per-sample output gives its declared worst value to each
item that failed upstream (unparsable, invalid, unrenderable, non-finite audio) and to
each item the metric could not score (NaN), with the reason kept in the item's notes, so
``n`` equals the item count. ``valid_only`` is computed from the metric's own values over
the valid items (NaN skipped): the number the original work reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fmbench.audio import Audio, is_inaudible
from fmbench.contracts import Sample
from fmbench.run.score import ScoredMetric
from fmbench.run.summary import Accounting, Estimate, MetricSummary
from fmbench.stats import SET_CI_METHOD

FAILED_ITEM_NOTE = "failed output scored as the worst value"


def generated_audio(s: Sample) -> Audio | None:
    """The audio the system produced for the sample (a render of its patch, or direct
    audio), or None — as opposed to the silence a failed sample is scored with."""
    return s.audio if s.audio is not None and (s.patch is not None or s.direct_audio) else None


def _inaudible(s: Sample) -> bool:
    audio = generated_audio(s)
    return audio is not None and is_inaudible(audio)


def accounting(samples: list[Sample]) -> Accounting:
    """What happened to every item."""
    return Accounting(
        n_items=len(samples),
        n_generated=sum(s.raw_output is not None or s.direct_audio for s in samples),
        n_parsed=sum(s.parsed is not None for s in samples),
        n_valid=sum(s.valid for s in samples),
        n_repaired=sum(s.repaired for s in samples),
        n_rendered=sum(s.patch is not None and "render" not in s.notes for s in samples),
        n_inaudible=sum(_inaudible(s) for s in samples),
    )


def failed(s: Sample) -> bool:
    """Whether the item failed before scoring: no valid output, or no generated audio
    although it has a patch (the render failed)."""
    return not s.valid or (s.patch is not None and "render" in s.notes)


def summarise(
    scored: dict[str, ScoredMetric],
    samples: list[Sample],
    *,
    policy: str,
    n_boot: int,
    seed: int,
) -> dict[str, MetricSummary]:
    """Summaries by column; fills ``sample.scores`` and ``sample.notes`` as a side effect."""
    from fmbench.stats import bootstrap_ci

    out: dict[str, MetricSummary] = {}
    for sm in scored.values():
        info = sm.planned.info
        for output in info.outputs:
            column = sm.planned.column(output.name)
            base: dict[str, Any] = dict(
                metric=info.name,
                metric_identity=sm.identity,
                kind=str(info.metric_kind),
                direction=str(output.direction),
                n_items=len(sm.idx),
            )
            if output.name in sm.result.per_sample:
                raw = np.asarray(sm.result.per_sample[output.name], dtype=np.float64)
                values = raw.copy()
                notes: dict[int, str] = {
                    i: r for (c, i), r in sm.result.reasons.items() if c == output.name
                }
                if policy == "score-as-failure" and output.worst is not None:
                    for i, k in enumerate(sm.idx):
                        if failed(samples[k]):
                            values[i] = output.worst
                            notes[i] = FAILED_ITEM_NOTE
                        elif math.isnan(values[i]):
                            values[i] = output.worst
                            notes[i] = f"{notes.get(i, 'no value')}; scored as the worst value"
                for i, k in enumerate(sm.idx):
                    samples[k].scores[column] = float(values[i])
                    if i in notes:
                        samples[k].notes[column] = notes[i]
                finite = values[~np.isnan(values)]
                low, high = bootstrap_ci(values, n_boot=n_boot, seed=seed)
                valid = raw[[samples[k].valid for k in sm.idx]]
                v_finite = valid[~np.isnan(valid)]
                v_low, v_high = bootstrap_ci(valid, n_boot=n_boot, seed=seed)
                out[column] = MetricSummary(
                    **base,
                    value=float(finite.mean()) if finite.size else math.nan,
                    ci_low=low,
                    ci_high=high,
                    n=int(finite.size),
                    n_nan=int(values.size - finite.size),
                    valid_only=Estimate(
                        float(v_finite.mean()) if v_finite.size else math.nan,
                        v_low,
                        v_high,
                        int(v_finite.size),
                    ),
                )
            elif output.name in sm.result.set_values:
                low, high = sm.set_intervals.get(output.name, (math.nan, math.nan))
                vo = sm.set_valid_only.get(output.name)
                out[column] = MetricSummary(
                    **base,
                    value=float(sm.result.set_values[output.name]),
                    ci_low=low,
                    ci_high=high,
                    n=len(sm.idx),
                    ci_method=SET_CI_METHOD,
                    valid_only=None if vo is None else Estimate(vo[0], vo[1], vo[2], vo[3]),
                )
    return out


def sample_row(s: Sample) -> dict[str, Any]:
    """One row of ``samples.csv``."""
    row: dict[str, Any] = {
        "id": s.id,
        "caption": s.caption,
        "raw_output": s.raw_output,
        "parsed_ok": s.parsed is not None,
        "parse_error": s.parse_error,
        "valid": s.valid,
        "problems": [p.to_dict() for p in s.problems[:20]],
        "repaired": s.repaired,
        "rendered": s.patch is not None and "render" not in s.notes,
        "inaudible": _inaudible(s),
        "patch": s.patch.to_json() if s.patch is not None else None,
        "audio_hash": audio.content_hash if (audio := generated_audio(s)) is not None else None,
        "direct_audio": s.direct_audio,
    }
    row.update(s.scores)
    for key, note in s.notes.items():
        row[f"note:{key}"] = note
    return row
