"""GRPO rewards as a library, with trl's reward-function signature.

What each reward computes: docs/prompts-and-training.md#grpo-rewards.

Every reward here is a callable ``fn(prompts, completions, **kwargs) -> list[float]``:
``completions`` are strings or chat message lists (the contents of the assistant
messages are joined with newlines), and the ground truth arrives as
``kwargs["answer"]`` — one compact canonical JSON string (or dict, or
:class:`~fmbench.patch.model.Patch`) per completion, exactly like the original ``answer``
column. They are pure Python (no torch) and usable outside trl and the CLI::

    from fmbench.rewards import dx7_dist
    dx7_dist(None, ['```json\\n{...}\\n```'], answer=['{"modmatrix": ...}'])

Common step: the completion text is parsed with
:func:`fmbench.patch.parse.parse_reply` and *partially* canonicalised
(:func:`fmbench.patch.canonical.canonicalize` with ``require_all=False``) → ``pred``,
or "unparsable". "Valid" means the GRPO check: :func:`fmbench.patch.validate.validate`
with ``mode="discrete"`` (the discrete schema check **and** the ``seed`` validator).

- :func:`toolrl_exact` — ``R_format + R_correct`` in [−3, 4];
- :func:`toolrl_topology_gate` — values outside the two matrices only count when both
  matrices match exactly;
- :func:`dx7_dist` — ``R_valid + R_keys + R_dist`` in [−3, 4.5] (the original default);
- :func:`dx7_dist_topology_gate` — ``s_k = 0`` outside the matrices unless they match;
- :func:`metric_reward` — any per-sample metric plugin as a reward (renders, caches);
- :func:`get_reward` / :func:`reward_functions` — resolve ``dx7_dist``, ``toolrl_exact``,
  ``metric:NAME`` specs.

A ground truth that fails to load (not JSON, a missing key, invalid) gives the
unparsable penalty (−3), as in the original rewards.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fmbench.errors import FmbenchError
from fmbench.patch.canonical import canonicalize
from fmbench.patch.distance import key_similarities, key_weights
from fmbench.patch.errors import PatchParseError
from fmbench.patch.model import KEY_ORDER, Patch
from fmbench.patch.parse import parse_reply
from fmbench.patch.validate import validate

__all__ = [
    "REWARD_NAMES",
    "RewardError",
    "RewardFn",
    "RewardPool",
    "completion_text",
    "dx7_dist",
    "dx7_dist_topology_gate",
    "flatten_params",
    "get_reward",
    "load_answer",
    "make_dx7_dist",
    "make_toolrl",
    "metric_reward",
    "parse_completion",
    "reward_functions",
    "toolrl_exact",
    "toolrl_topology_gate",
]

RewardFn = Callable[..., list[float]]

#: the reward given to an unparsable completion (or a ground truth that fails to load)
INVALID_REWARD = -3.0
_TOL = 1e-6
_TOPOLOGY = ("modmatrix", "outmatrix")


class RewardError(FmbenchError, ValueError):
    """A reward spec that cannot be resolved, or reward inputs of the wrong form."""


# -- common parsing ----------------------------------------------------------------------
def completion_text(completion: Any) -> str:
    """The text of one completion: a string as is; for a chat message list (or one
    message dict) the contents of the assistant messages joined with newlines."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if isinstance(completion, Sequence):
        parts = []
        for message in completion:
            if isinstance(message, Mapping) and message.get("role", "assistant") == "assistant":
                content = message.get("content")
                if isinstance(content, str):
                    parts.append(content)
                elif isinstance(content, Sequence):  # [{"type": "text", "text": ...}]
                    parts.extend(c.get("text", "") for c in content if isinstance(c, Mapping))
        return "\n".join(parts)
    return "" if completion is None else str(completion)


def parse_completion(completion: Any) -> dict[str, Any] | None:
    """``pred``: the last patch object of a completion, partially canonicalised, or None
    when nothing parsable is found (the common step)."""
    try:
        data = parse_reply(completion_text(completion))
        return canonicalize(data, require_all=False)
    except PatchParseError:
        return None


def load_answer(answer: Any) -> dict[str, Any] | None:
    """The ground-truth patch from an ``answer`` value (JSON string, dict or Patch), or
    None when it fails the GT loading rules (all 12 keys, discrete + ``seed`` validity)."""
    if isinstance(answer, Patch):
        return answer.to_dict()
    try:
        data = json.loads(answer) if isinstance(answer, (str, bytes)) else answer
        gt = canonicalize(data, require_all=True)
    except (ValueError, TypeError, PatchParseError):
        return None
    return None if validate(gt, mode="discrete") else gt


def _answers(kwargs: Mapping[str, Any], n: int) -> list[Any]:
    answers = kwargs.get("answer")
    if answers is None:
        raise RewardError("reward functions need the ground truth as kwargs['answer']")
    if isinstance(answers, (str, bytes, Mapping, Patch)):
        answers = [answers] * n
    answers = list(answers)
    if len(answers) != n:
        raise RewardError(f"got {len(answers)} answers for {n} completions")
    return answers


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, str) and x.strip():
        try:
            v = float(x.strip())
        except ValueError:
            return None
        return v if math.isfinite(v) else None
    try:  # numpy scalars
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _same(a: Any, b: Any) -> bool:
    x, y = _num(a), _num(b)
    return x is not None and y is not None and abs(x - y) <= _TOL


def flatten_params(d: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar parameters named ``key``, ``key[i]``, ``key[i][j]`` (a GT patch has 128)."""
    out: dict[str, Any] = {}

    def walk(name: str, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(f"{name}[{i}]", v)
        else:
            out[name] = value

    for key, value in d.items():
        walk(key, value)
    return out


def _topology_matches(pred: Mapping[str, Any], gt: Mapping[str, Any]) -> bool:
    """Both matrices present, with the GT's shape, and every element equal."""
    for key in _TOPOLOGY:
        if key not in pred:
            return False
        p, t = flatten_params({key: pred[key]}), flatten_params({key: gt[key]})
        if p.keys() != t.keys() or not all(_same(p[n], t[n]) for n in t):
            return False
    return True


# -- toolrl ------------------------------------------------------------------------------
def _toolrl_one(pred: dict[str, Any] | None, gt: dict[str, Any] | None, gate: bool) -> float:
    if gt is None or pred is None:
        return INVALID_REWARD
    r_format = 0.0 if validate(pred, mode="discrete") else 1.0
    gt_flat, pred_flat = flatten_params(gt), flatten_params(pred)
    union = gt_flat.keys() | pred_flat.keys()
    r_param = len(gt_flat.keys() & pred_flat.keys()) / len(union) if union else 0.0
    gated = gate and not _topology_matches(pred, gt)
    r_value = 0
    for name, t in gt_flat.items():
        if gated and not name.startswith(_TOPOLOGY):
            continue
        if name in pred_flat and _same(pred_flat[name], t):
            r_value += 1
    r_correct = 6.0 * (1.0 + r_param + r_value) / (2 + len(gt_flat)) - 3.0
    return r_format + r_correct


def make_toolrl(*, topology_gate: bool = False) -> RewardFn:
    """A ``toolrl_exact``-style reward: ``R_format + R_correct`` with
    ``R_correct = 6·(r_name + r_param + r_value)/(2 + 128) − 3``."""

    def reward(prompts: Any, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        answers = _answers(kwargs, len(completions))
        return [
            _toolrl_one(parse_completion(c), load_answer(a), topology_gate)
            for c, a in zip(completions, answers, strict=True)
        ]

    reward.__name__ = "toolrl_topology_gate" if topology_gate else "toolrl_exact"
    reward.__doc__ = make_toolrl.__doc__
    return reward


# -- dx7_dist ----------------------------------------------------------------------------
def _dx7_one(
    pred: dict[str, Any] | None,
    gt: dict[str, Any] | None,
    *,
    weights: Mapping[str, float],
    alpha: float,
    beta_keys: float,
    gamma: float,
    invalid_reward: float,
    gate: bool,
) -> float:
    if gt is None or pred is None:
        return invalid_reward
    r_valid = 0.0 if validate(pred, mode="discrete") else alpha
    r_keys = beta_keys * sum(k in pred for k in KEY_ORDER) / len(KEY_ORDER)
    sims = key_similarities(pred, gt)
    if gate and not _topology_matches(pred, gt):
        sims = {k: (v if k in _TOPOLOGY else 0.0) for k, v in sims.items()}
    total = sum(weights.values())
    d = sum(weights[k] * sims[k] for k in KEY_ORDER) / total if total > 0 else 0.0
    return r_valid + r_keys + gamma * d


def make_dx7_dist(
    *,
    weights: Mapping[str, float] | None = None,
    alpha: float = 1.0,
    beta_keys: float = 0.5,
    gamma: float = 3.0,
    invalid_reward: float = INVALID_REWARD,
    topology_gate: bool = False,
) -> RewardFn:
    """A ``dx7_dist`` reward: ``R_valid + R_keys + γ·D``.

    ``weights`` are merged over the default key weights (names outside the 12 keys are
    ignored, as the original ``--key_weights_json``); ``D`` is
    :func:`fmbench.patch.distance.patch_similarity`'s weighted mean.
    """
    w = key_weights(weights)

    def reward(prompts: Any, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        answers = _answers(kwargs, len(completions))
        return [
            _dx7_one(
                parse_completion(c),
                load_answer(a),
                weights=w,
                alpha=alpha,
                beta_keys=beta_keys,
                gamma=gamma,
                invalid_reward=invalid_reward,
                gate=topology_gate,
            )
            for c, a in zip(completions, answers, strict=True)
        ]

    reward.__name__ = "dx7_dist_topology_gate" if topology_gate else "dx7_dist"
    reward.__doc__ = make_dx7_dist.__doc__
    return reward


#: the built-in rewards with their default settings
toolrl_exact: RewardFn = make_toolrl()
toolrl_topology_gate: RewardFn = make_toolrl(topology_gate=True)
dx7_dist: RewardFn = make_dx7_dist()
dx7_dist_topology_gate: RewardFn = make_dx7_dist(topology_gate=True)

_BUILTIN: dict[str, Callable[..., RewardFn]] = {
    "toolrl_exact": make_toolrl,
    "toolrl_topology_gate": lambda **kw: make_toolrl(topology_gate=True, **kw),
    "dx7_dist": make_dx7_dist,
    "dx7_dist_topology_gate": lambda **kw: make_dx7_dist(topology_gate=True, **kw),
}
#: names accepted by :func:`get_reward` (plus ``metric:NAME``)
REWARD_NAMES: tuple[str, ...] = tuple(_BUILTIN)


# -- metric plugins as rewards -------------------------------------------------------------
_RENDER_MEMO_SIZE = 64  # recent renders kept per process (a GRPO group shares its reference)
_RENDER_MEMO: OrderedDict[str, Any] = OrderedDict()


class _MetricScorer:
    """Renders valid patches and scores them with one per-sample metric; lives in the
    calling process or, built from the same arguments, in each :class:`RewardPool` worker."""

    def __init__(
        self,
        name: str,
        output: str | None,
        penalty: float | None,
        renderer: Any,
        settings: Any,
        cache: Any,
        registry: Any,
        metric_options: dict[str, Any],
    ) -> None:
        from fmbench.components import ComponentKind, Direction, MetricKind, Need

        if registry is None:
            from fmbench.plugins import get_registry

            registry = get_registry()
        info, spec_options = registry.resolve_spec(ComponentKind.METRIC, name)
        reason = info.unavailable_reason()
        if reason:
            raise RewardError(f"metric reward {name!r} cannot run: {reason}")
        if info.metric_kind is MetricKind.SET:
            raise RewardError(
                f"metric {info.name!r} is a set-level metric; a reward needs a per-sample metric"
            )
        out = (
            info.outputs[0]
            if output is None
            else next((o for o in info.outputs if o.name == output), None)
        )
        if out is None:
            names = ", ".join(o.name for o in info.outputs)
            raise RewardError(f"metric {info.name!r} has no output {output!r} (outputs: {names})")
        self.info, self.out = info, out
        self.sign = 1.0 if out.direction is Direction.HIGHER else -1.0
        if penalty is None:
            penalty = self.sign * out.worst - 1.0 if out.worst is not None else -1.0
        self.penalty = float(penalty)
        self.metric = info.factory(**{**spec_options, **metric_options})
        self.needs_audio = bool(info.needs & {Need.AUDIO, Need.REFERENCE_AUDIO})
        self._renderer_spec, self._settings, self._cache = renderer, settings, cache
        self._state: dict[str, Any] = {}

    def _audio_for(self, patches: list[Patch]) -> dict[str, Any]:
        from fmbench.cache import Cache
        from fmbench.render import (
            DEFAULT_RENDERER,
            RenderSettings,
            pack_render,
            render_batch,
            render_key,
            resolve_renderer,
            unpack_render,
        )

        if "renderer" not in self._state:
            self._state["renderer"] = resolve_renderer(self._renderer_spec or DEFAULT_RENDERER)
            self._state["settings"] = self._settings or RenderSettings()
            self._state["cache"] = self._cache if self._cache is not None else Cache()
        r, s, c = self._state["renderer"], self._state["settings"], self._state["cache"]
        found: dict[str, Any] = {}
        todo: list[Patch] = []
        for p in {p.content_hash: p for p in patches}.values():
            key = render_key(p, r.identity, s)
            stored = _RENDER_MEMO.get(key)
            if stored is None:
                stored = c.get("render", key)
            if stored is None:
                todo.append(p)
            else:
                found[p.content_hash] = stored
                _remember(key, stored)
        if todo:
            for p, audio in zip(todo, render_batch(todo, s, renderer=r), strict=True):
                stored = pack_render(audio, s)
                key = render_key(p, r.identity, s)
                c.put("render", key, stored)
                _remember(key, stored)
                found[p.content_hash] = stored
        return {h: unpack_render(v, s) for h, v in found.items()}

    def values(
        self, items: Sequence[tuple[dict[str, Any], dict[str, Any], str, str]]
    ) -> list[float]:
        """Reward-oriented values (NaN where the metric gave none) for
        ``(pred, gt, caption, raw text)`` items whose prediction is valid."""
        from fmbench.contracts import Sample

        samples = [
            Sample(
                id=str(i),
                caption=caption,
                reference_patch=Patch.from_dict(gt),
                raw_output=raw,
                parsed=pred,
                patch=Patch.from_dict(pred),
            )
            for i, (pred, gt, caption, raw) in enumerate(items)
        ]
        if not samples:
            return []
        if self.needs_audio:
            audio = self._audio_for(
                [s.patch for s in samples] + [s.reference_patch for s in samples]
            )
            for s in samples:
                s.audio = audio[s.patch.content_hash]
                s.reference_audio = audio[s.reference_patch.content_hash]
        result = self.metric.score(samples)
        got = result.per_sample.get(self.out.name)
        if got is None:
            return [math.nan] * len(samples)
        return [self.sign * float(v) for v in got]


def _remember(key: str, stored: Any) -> None:
    _RENDER_MEMO[key] = stored
    _RENDER_MEMO.move_to_end(key)
    while len(_RENDER_MEMO) > _RENDER_MEMO_SIZE:
        _RENDER_MEMO.popitem(last=False)


_WORKER_SCORERS: dict[str, _MetricScorer] = {}


def _worker_values(token: str, args: tuple[Any, ...], items: list[Any]) -> tuple[int, list[float]]:
    """In a pool worker: this process's scorer for ``token`` (built once) over ``items``."""
    scorer = _WORKER_SCORERS.get(token)
    if scorer is None:
        scorer = _WORKER_SCORERS[token] = _MetricScorer(*args)
    return os.getpid(), scorer.values(items)


def _worker_pid(_: int) -> int:
    time.sleep(0.05)  # long enough that every worker takes one of the start-up tasks
    return os.getpid()


class RewardPool:
    """Persistent worker processes for metric rewards: rendering and scoring of a reward
    call run there, split into one contiguous chunk per worker, and the workers (with
    their imported modules, compiled kernels, metric objects and recent renders) are
    reused by every later call — no process start or JIT load per call.

    Pass it to :func:`metric_reward` / :func:`get_reward` / :func:`reward_functions` as
    ``pool=``; one pool serves any number of rewards. Close it with :meth:`close` (or use
    it as a context manager); it is also closed at interpreter exit. ``start_method``
    defaults to ``"fork"`` where available (workers inherit what the parent has already
    loaded); use ``"forkserver"`` or ``"spawn"`` when the parent holds threads that must
    not be forked (e.g. an initialised CUDA context).
    """

    def __init__(self, workers: int | None = None, *, start_method: str | None = None) -> None:
        import weakref

        from fmbench.executor import ExecutorError, default_workers, process_pool

        self.workers = max(1, int(workers or default_workers()))
        try:
            self._pool: Any = process_pool(self.workers, start_method)
        except ExecutorError as exc:
            raise RewardError(str(exc)) from None
        self._finalizer = weakref.finalize(self, self._pool.shutdown, cancel_futures=True)
        self._pids = set(self._pool.map(_worker_pid, range(self.workers)))
        self._pids |= set(getattr(self._pool, "_processes", None) or ())
        self.last_pids: set[int] = set()

    @property
    def pids(self) -> set[int]:
        """The worker process ids seen at start-up."""
        return set(self._pids)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return not self._finalizer.alive

    def values(self, token: str, args: tuple[Any, ...], items: Sequence[Any]) -> list[float]:
        """Score ``items`` with the scorer built from ``args`` in each worker (cached there
        under ``token``); results in input order."""
        if self.closed:
            raise RewardError("this RewardPool is closed")
        if not items:
            return []
        size = -(-len(items) // self.workers)
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        futures = [self._pool.submit(_worker_values, token, args, c) for c in chunks]
        out: list[float] = []
        self.last_pids = set()
        for f in futures:
            pid, vals = f.result()
            self.last_pids.add(pid)
            out.extend(vals)
        return out

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        self._finalizer()

    def __enter__(self) -> RewardPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def metric_reward(
    name: str,
    *,
    output: str | None = None,
    penalty: float | None = None,
    renderer: str | Any | None = None,
    settings: Any = None,
    cache: Any = None,
    registry: Any = None,
    pool: RewardPool | None = None,
    **metric_options: Any,
) -> RewardFn:
    """A reward from any per-sample metric plugin (``metric:NAME`` on the CLI).

    Each completion becomes a :class:`fmbench.contracts.Sample` (caption from
    ``kwargs["caption"]`` when the dataset has that column, reference patch from
    ``kwargs["answer"]``). Valid patches are rendered with ``renderer`` (default
    ``dx7``) and the default :class:`~fmbench.render.RenderSettings` when the metric
    needs audio; renders go through the content-addressed :class:`~fmbench.cache.Cache`
    with the runner's keys (and a small in-memory memo), so a render is never computed
    twice. The metric's column ``output`` (default: its first) is the reward, negated for
    "lower is better" metrics so that larger is always better.

    **Penalty**: an unparsable or invalid completion, a ground truth that fails to
    load, or a NaN score gets ``penalty``; by default the output's declared ``worst``
    value (reward-oriented) minus 1, or −1 when the metric declares none.

    **pool**: a :class:`RewardPool`; rendering and scoring then run in its persistent
    workers (same values as in-process). The metric is resolved from the installed
    plugins there, so ``registry`` cannot be combined with ``pool``.
    """
    if pool is not None and registry is not None:
        raise RewardError(
            "a RewardPool resolves metrics from the installed plugins: drop registry="
        )
    args = (name, output, penalty, renderer, settings, cache, None, dict(metric_options))
    scorer = _MetricScorer(*args[:6], registry, dict(metric_options))
    token = uuid.uuid4().hex
    if pool is not None:
        try:
            pickle.dumps(args)
        except Exception as exc:  # noqa: BLE001 - any pickling failure is a usage error
            raise RewardError(
                f"metric reward {name!r}: its options cannot be sent to pool workers ({exc})"
            ) from None

    def reward(prompts: Any, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        answers = _answers(kwargs, len(completions))
        captions = kwargs.get("caption") or [""] * len(completions)
        rewards = [scorer.penalty] * len(completions)
        items, index = [], []
        for i, (c, a) in enumerate(zip(completions, answers, strict=True)):
            gt = load_answer(a)
            pred = parse_completion(c)
            if gt is None or pred is None or validate(pred):
                continue
            items.append((pred, gt, str(captions[i]), completion_text(c)))
            index.append(i)
        if not items:
            return rewards
        values = pool.values(token, args, items) if pool is not None else scorer.values(items)
        for i, v in zip(index, values, strict=True):
            if math.isfinite(v):
                rewards[i] = v
        return rewards

    reward.__name__ = f"metric_{scorer.info.name}".replace("-", "_")
    reward.__doc__ = metric_reward.__doc__
    return reward


def get_reward(spec: str, **options: Any) -> RewardFn:
    """Resolve one reward spec: a name of :data:`REWARD_NAMES` or ``metric:NAME[:ARG]``."""
    spec = spec.strip()
    if spec.startswith("metric:"):
        name = spec.removeprefix("metric:")
        if not name:
            raise RewardError("empty metric name in 'metric:' reward spec")
        return metric_reward(name, **options)
    if spec in _BUILTIN:
        return _BUILTIN[spec](**options)
    raise RewardError(
        f"unknown reward {spec!r}; choose from {', '.join(REWARD_NAMES)} or metric:NAME"
    )


def reward_functions(
    specs: str | Sequence[str],
    *,
    key_weights: Mapping[str, float] | None = None,
    pool: RewardPool | None = None,
) -> list[RewardFn]:
    """Resolve a comma-separated list (or sequence) of reward specs; trl sums them.

    ``key_weights`` (the original ``--key_weights_json``) applies to the ``dx7_dist`` ones;
    ``pool`` (a :class:`RewardPool`) to the ``metric:NAME`` ones.
    """
    if isinstance(specs, str):
        specs = [s for s in specs.split(",") if s.strip()]
    if not specs:
        raise RewardError("no reward selected")
    out = []
    for s in specs:
        options: dict[str, Any] = {}
        if s.strip().startswith("dx7_dist"):
            options["weights"] = key_weights
        elif s.strip().startswith("metric:") and pool is not None:
            options["pool"] = pool
        out.append(get_reward(s, **options))
    return out
