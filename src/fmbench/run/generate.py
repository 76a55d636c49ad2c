"""The generation stage: benchmark items → one :class:`GeneratorOutput` per item.

Outputs are appended to the run directory's generation log batch by batch, each record
stamped with the generator identity that produced it; a resume reuses a record only
when that identity is the current one (a changed checkpoint, options or outputs file
regenerates). Failed generations are not stored, so a resume retries them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fmbench.benchmark import BenchmarkItem
from fmbench.contracts import GeneratorOutput
from fmbench.run.config import RunError
from fmbench.run.rundir import RunDir


def stored_outputs(run_dir: RunDir, generator_identity: str) -> dict[str, GeneratorOutput]:
    """The generation log's records made by ``generator_identity``, by item id."""
    out: dict[str, GeneratorOutput] = {}
    for item_id, rec in run_dir.read_generations().items():
        if rec.get("generator") != generator_identity:
            continue  # made by another generator, checkpoint or outputs file
        out[item_id] = GeneratorOutput(
            rec.get("raw_output"), rec.get("patch"), rec.get("info") or {}, rec.get("audio_path")
        )
    return out


def generate(
    generator: Any,
    items: Sequence[BenchmarkItem],
    run_dir: RunDir,
    *,
    seed: int,
    batch_size: int,
    on_batch: Callable[[int], None] = lambda n: None,
) -> dict[str, GeneratorOutput]:
    """Outputs for every item: stored ones reused, the rest generated and logged.

    A generator that raises, or returns the wrong number of outputs, fails that batch's
    items (recorded in ``info["error"]``); the run goes on.
    """
    identity = str(generator.identity)
    done = stored_outputs(run_dir, identity)
    todo = [it for it in items if it.id not in done]
    for i in range(0, len(todo), batch_size):
        batch = todo[i : i + batch_size]
        try:
            produced = list(generator.generate(batch, seed=seed))
            if len(produced) != len(batch):
                raise RunError(f"generator returned {len(produced)} outputs for {len(batch)} items")
        except Exception as exc:  # noqa: BLE001 - recorded per item, retried on resume
            message = f"generator failed: {type(exc).__name__}: {exc}"
            for it in batch:
                done[it.id] = GeneratorOutput(info={"error": message})
            on_batch(len(batch))
            continue
        records = []
        for it, out in zip(batch, produced, strict=True):
            done[it.id] = out
            nothing = out.raw_output is None and out.patch is None and out.audio_path is None
            if nothing and out.info.get("error"):
                continue  # not stored: retried on resume
            records.append(
                {
                    "id": it.id,
                    "generator": identity,
                    "raw_output": out.raw_output,
                    "patch": out.patch,
                    "info": out.info,
                    "audio_path": out.audio_path,
                }
            )
        run_dir.append_generations(records)
        on_batch(len(batch))
    return done
