"""The fmbench plugin hooks.

Every hook receives a ``register`` callback and may call it any number of times, once
per component::

    from fmbench import hookimpl

    @hookimpl
    def fmbench_register_metrics(register):
        register(
            "rms",
            RmsCosine,                      # a class or any callable; called lazily
            summary="RMS-envelope cosine between generated and reference audio",
            direction="higher",
            metric_kind="paired_audio",
            needs=("audio", "reference_audio"),
        )

``register(name, factory, *, summary, **metadata)`` accepts the fields of
:class:`fmbench.components.ComponentInfo` (``aliases``, ``version``, ``extras``,
``requires``, ``model_files``; metrics also ``direction``, ``metric_kind``, ``needs``,
``outputs``). Hooks fire once, when the plugin manager first builds the registry
(the first ``fmbench`` command that needs components). They must be cheap: import
heavy libraries inside the factory, never at module import or registration time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click

PROJECT = "fmbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The callback each hook receives."""

    def __call__(self, name: str, factory: Any, /, *, summary: str, **metadata: Any) -> None: ...


@hookspec
def fmbench_register_generators(register: Register) -> None:
    """Register generators: components that turn captions into patches (or raw replies).

    Fires once when the registry is built. A generator factory returns an object with
    ``identity: str`` and ``generate(items, *, seed) -> list[GeneratorOutput]`` (one per
    :class:`~fmbench.contracts.BenchmarkItem`); see :mod:`fmbench.contracts`.
    """


@hookspec
def fmbench_register_renderers(register: Register) -> None:
    """Register renderers: components that turn patches into audio.

    Fires once when the registry is built. A renderer factory returns an object with
    ``identity: str`` (engine version + fidelity mode; part of every render cache key)
    and ``render(patch, settings) -> Audio``.
    """


@hookspec
def fmbench_register_metrics(register: Register) -> None:
    """Register metrics. Each must declare ``direction``, ``metric_kind`` and ``needs``.

    Fires once when the registry is built. A metric factory returns an object with
    ``identity: str`` and ``score(samples) -> MetricResult``; ``outputs`` names its
    columns when it produces more than one value (each with its own direction).
    """


@hookspec
def fmbench_register_embedders(register: Register) -> None:
    """Register audio embedders used by the distribution metrics (FAD, KAD, KL).

    Fires once when the registry is built. An embedder factory returns an object with
    ``identity``, ``dim``, ``sample_rate`` and ``embed(audio) -> ndarray (frames, dim)``.
    """


@hookspec
def fmbench_register_benchmarks(register: Register) -> None:
    """Register benchmarks: a dataset, a split, render settings and a default metric set.

    Fires once when the registry is built. A benchmark factory returns a
    :class:`fmbench.benchmark.Benchmark`-like object; registering a ``.toml`` path via
    a small factory is the usual way.
    """


@hookspec
def fmbench_register_commands(cli: click.Group) -> None:
    """Add commands to the ``fmbench`` command line: ``cli.add_command(my_command)``.

    Fires once per ``fmbench`` invocation, when the command line first lists or looks up
    its commands. Keep it cheap: define the click command in a module of its own and
    import heavy libraries inside the command's body. A hook that raises, or a name that
    clashes with an existing command, is reported by ``fmbench plugins`` and skipped.
    """
