"""Built-in baseline generators: random, prior, retrieval, oracle and outputs."""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl


def _random(**options: Any):
    from fmbench_plugins.baselines.generators import RandomGenerator

    return RandomGenerator(**options)


def _prior(**options: Any):
    from fmbench_plugins.baselines.generators import PriorGenerator

    return PriorGenerator(**options)


def _retrieval(**options: Any):
    from fmbench_plugins.baselines.generators import RetrievalGenerator

    return RetrievalGenerator(**options)


def _oracle(**options: Any):
    from fmbench_plugins.baselines.generators import OracleGenerator

    return OracleGenerator(**options)


def _outputs(**options: Any):
    from fmbench_plugins.baselines.outputs import OutputsGenerator

    return OutputsGenerator(**options)


@hookimpl
def fmbench_register_generators(register):
    register("random", _random, summary="a valid random patch (uniform ranges, random algorithm)")
    register("prior", _prior, summary="samples the train split's per-parameter distributions")
    register(
        "retrieval",
        _retrieval,
        summary="the patch of the nearest train caption (TF-IDF cosine; method=bm25)",
        arg_option="method",
    )
    register("oracle", _oracle, summary="the reference patch itself (the ceiling)")
    register(
        "outputs",
        _outputs,
        summary="model outputs produced elsewhere: outputs:PATH.csv|.jsonl, matched by id",
        arg_option="path",
    )
