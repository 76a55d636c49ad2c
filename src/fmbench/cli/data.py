"""`fmbench data …`: build datasets (real-voice and synthetic benchmarks, SysEx import),
captions, and the overlap between two datasets."""

from __future__ import annotations

import json

import click

from fmbench.cli.common import workers_option


def _summary(report) -> str:
    d = report.to_dict()
    lines = [
        f"candidates {d['n_candidates']}, kept train {d['n_train']} / test {d['n_test']}, "
        f"duplicates {d['n_duplicates']}, inaudible {d['n_inaudible']}, "
        f"with fixed-frequency operators {d['n_fixed']}"
    ]
    lines += [f"  {k}: {v}" for k, v in d["files"].items()]
    lines += [f"  note: {n}" for n in d["notes"]]
    return "\n".join(lines)


def _render_pool_options(f):
    """``--workers`` and ``--progress/--no-progress``, for the commands that render."""
    f = click.option("--progress/--no-progress", default=True, show_default=True)(f)
    return workers_option("Render processes")(f)


@click.group("data")
def data_group() -> None:
    """Build benchmark datasets (real-voice corpus, synthetic, SysEx imports), captions,
    and measure the overlap of two datasets."""


@data_group.command("make-synthetic")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="output folder")
@click.option("--seed", default=0, show_default=True, help="prior seed")
@click.option("--train", "n_train", default=1000, show_default=True, help="train items")
@click.option("--test", "n_test", default=100, show_default=True, help="test items")
@click.option("--max-candidates", type=int, default=None, help="stop after this many prior samples")
@_render_pool_options
def make_default_cmd(out, seed, n_train, n_test, max_candidates, workers, progress) -> None:
    """Generate the synthetic benchmark's data (train.csv, test.csv, captions.csv).

    Patches come from fmbench's documented prior (docs/synthetic-benchmark.md), are rendered
    with the dx7 renderer and captioned from measured audio descriptors. The same seed gives
    the same files, bit for bit.
    """
    from fmbench.datagen import make_synthetic

    report = make_synthetic(
        out,
        seed=seed,
        n_train=n_train,
        n_test=n_test,
        max_candidates=max_candidates,
        workers=workers,
        progress=progress,
    )
    click.echo(_summary(report))


@data_group.command("ship-reference")
@click.argument("benchmark")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="output file (default: the package's data/reference/BENCHMARK.npz)",
)
@_render_pool_options
def ship_reference_cmd(benchmark, out, workers, progress) -> None:
    """Compute BENCHMARK's reference side once, for shipping with the package.

    Scores the benchmark's references against themselves with its default metrics and
    empty caches, and writes what the metrics cached (features, envelopes, embeddings of
    the reference renders; not the renders) to one file. Every cache reads that file as
    a read-only layer, so a cold run computes only the generated side. Entries are keyed
    by audio content and metric identity: nothing stale can be used.
    """
    from fmbench.run.reference import ship_reference

    path, counts = ship_reference(benchmark, out, workers=workers, progress=progress)
    size = path.stat().st_size / 1e6
    detail = ", ".join(f"{ns} {n}" for ns, n in counts.items()) or "nothing"
    click.echo(f"wrote {path} ({size:.2f} MB): {detail}")


def _load_captioner(spec: str | None):
    if not spec:
        return None
    import importlib

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise click.BadParameter("use MODULE:FUNCTION", param_hint="--captioner")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"cannot load {spec}: {exc}", param_hint="--captioner") from None


@data_group.command("make-corpus")
@click.argument("corpus", type=click.Path(file_okay=False, exists=True))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="output folder")
@click.option(
    "--threshold",
    default=0.03,
    show_default=True,
    help="near-duplicate threshold on 1 - dx7_dist (single-linkage clusters)",
)
@click.option("--test-fraction", default=0.1, show_default=True, help="share of test clusters")
@click.option(
    "--captioner",
    default=None,
    help="MODULE:FUNCTION(descriptors, name, key) -> caption (default: name-aware rules)",
)
@_render_pool_options
def make_corpus_cmd(corpus, out, threshold, test_fraction, captioner, workers, progress) -> None:
    """Build the real-voice benchmark data from a folder of DX7 banks (the default benchmark).

    Voices are de-duplicated by parameters, near-duplicates clustered, the split made by
    cluster, and every voice captioned from its name and measured audio
    (docs/default-benchmark.md). The same corpus gives the same files, byte for byte.
    """
    from fmbench.corpus import build_corpus_benchmark

    report = build_corpus_benchmark(
        corpus,
        out,
        threshold=threshold,
        test_fraction=test_fraction,
        captioner=_load_captioner(captioner),
        workers=workers,
        progress=progress,
    )
    d = report.to_dict()
    click.echo(
        f"voices {d['n_voices']}, distinct {d['n_unique']}, clusters {d['n_clusters']} "
        f"(largest {d['largest_cluster']}), train {d['n_train']} / test {d['n_test']} "
        f"({d['n_test_clusters']} test clusters), inaudible {d['n_inaudible']}"
    )
    for row in d["thresholds"]:
        click.echo(
            f"  threshold {row['threshold']:.2f}: {row['clusters']} clusters, "
            f"largest {row['largest']}"
        )
    click.echo(f"  files in {out}: {', '.join(d['files'].values())}, report.json")


@data_group.command("overlap")
@click.argument("a")
@click.argument("b")
@click.option(
    "--threshold",
    default=0.03,
    show_default=True,
    help="a patch of A within this 1 - dx7_dist of some patch of B is a near-copy",
)
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def overlap_cmd(a, b, threshold, as_json) -> None:
    """How many patches of dataset A are (near-)copies of a patch of dataset B.

    A and B are data CSVs (.csv or .csv.gz) or BENCHMARK:SPLIT (e.g. default:test,
    default:train). Distances are 1 - dx7_dist (docs/metrics.md, "memorisation").
    """
    from fmbench.corpus import dataset_overlap, load_patches

    result = dataset_overlap(load_patches(a), load_patches(b), threshold=threshold)
    result = {"a": a, "b": b, **result}
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{a}: {result['n_a']} patches; {b}: {result['n_b']} patches\n"
        f"  exact copies in B: {result['exact']} ({result['exact_rate']:.1%})\n"
        f"  near-copies (distance <= {threshold}): {result['near']} ({result['near_rate']:.1%})\n"
        f"  nearest distance: median {result['median_nearest']:.4f}, "
        f"mean {result['mean_nearest']:.4f}"
    )


@data_group.command("import-syx")
@click.argument("banks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="output folder")
@click.option(
    "--collection", default="DX7_SYX", show_default=True, help="top folder of the wav paths"
)
@click.option("--test-fraction", default=0.1, show_default=True, help="share of the test split")
@click.option(
    "--captions",
    type=click.Choice(["auto", "placeholder", "none"]),
    default="auto",
    show_default=True,
    help="auto: rule-based captioner; placeholder: the voice name; none: no captions file",
)
@click.option(
    "--render/--no-render", default=True, show_default=True, help="render to flag inaudible voices"
)
@_render_pool_options
def import_syx_cmd(
    banks, out, collection, test_fraction, captions, render, workers, progress
) -> None:
    """Build a dataset (CSVs as in docs/datasets.md) from DX7 SysEx banks.

    Voices are de-duplicated by patch content (names ignored), flagged `inaudible` and
    `has_fixed_freqs`, and split into train/test by content hash.
    """
    from fmbench.datagen import import_syx

    report = import_syx(
        banks,
        out,
        collection=collection,
        test_fraction=test_fraction,
        captions=captions,
        render=render,
        workers=workers,
        progress=progress,
    )
    click.echo(_summary(report))


@data_group.command("caption")
@click.argument("dataset", type=click.Path(dir_okay=False))
@click.option(
    "--audio-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="folder that the wav_path column is relative to",
)
@click.option("--render", is_flag=True, help="render patch_data instead of reading audio")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="captions CSV")
@_render_pool_options
def caption_cmd(dataset, audio_dir, render, output, workers, progress) -> None:
    """Caption every row of DATASET.csv with the rule-based captioner (writes id, caption)."""
    from fmbench.datagen import caption_dataset
    from fmbench.dataset import write_captions

    captions = caption_dataset(
        dataset, audio_dir=audio_dir, render=render, workers=workers, progress=progress
    )
    write_captions(output, captions)
    click.echo(f"{len(captions)} captions written to {output}")


@data_group.command("describe")
@click.argument("dataset", type=click.Path(dir_okay=False))
@click.option("--id", "ids", multiple=True, help="only these ids (repeatable)")
def describe_cmd(dataset, ids) -> None:
    """Print the measured audio descriptors behind each caption (renders the patches)."""
    from fmbench.captioner import caption_from, describe
    from fmbench.dataset import read_dataset
    from fmbench.patch.canonical import strip_metadata
    from fmbench.patch.model import Patch
    from fmbench.render import DEFAULT_RENDERER, RenderSettings, resolve_renderer

    settings = RenderSettings()
    renderer = resolve_renderer(DEFAULT_RENDERER)
    for row in read_dataset(dataset):
        if ids and row.id not in ids:
            continue
        patch = Patch.from_dict(strip_metadata(row.patch_data), context=f"id {row.id}")
        d = describe(renderer.render(patch, settings), release_at=settings.hold_seconds)
        out = {"id": row.id, **d.to_dict(), "caption": caption_from(d, patch.content_hash)}
        click.echo(json.dumps(out, default=float))
