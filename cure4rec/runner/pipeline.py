"""Run one cell end to end: a pure function from a cell spec (dict) to a run record (dict).

data -> split -> forget split -> (cached) original and retrain references -> method
learn/unlearn -> evaluator -> record. Every random choice derives from the cell's seed
through `RunContext`, so the same cell gives the same metrics on every executor.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from cure4rec.config import canonical_json
from cure4rec.context import RunContext
from cure4rec.metrics.efficiency import Timing, measure
from cure4rec.models.base import ModelSpec, Recommender
from cure4rec.runner.cache import (
    ModelJob,
    cached_models,
    cached_shadow_fit,
    cached_state,
    model_key,
)
from cure4rec.runner.cells import CellSpec, spec_from_dict
from cure4rec.runner.records import make_record

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _forget_split_cached(key: str) -> Any:
    import json

    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.forget.select import make_forget_split

    d = json.loads(key)
    ds = load_dataset(d["dataset"]["name"], data_dir=d["data_dir"], **d["dataset"]["params"])
    sp = d["split"]
    ratios = tuple(sp["ratios"]) if sp.get("ratios") else None
    split = split_dataset(ds, seed=sp["seed"], protocol=sp.get("protocol"), ratios=ratios)
    f = d["forget"]
    return make_forget_split(split, strategy=f["strategy"], fraction=f["fraction"],
                             seed=f["seed"], **f.get("options", {}))


@functools.lru_cache(maxsize=4)
def _manifest_cached(directory: str, sha256: str) -> Any:
    from cure4rec.commands.split import load_manifest
    from cure4rec.errors import IntegrityError

    fs = load_manifest(directory)
    if fs.sha256 != sha256:
        raise IntegrityError(f"{directory}: forget split sha256 {fs.sha256} is not the "
                             f"{sha256} the recipe was planned with; re-run `cure4rec run`")
    return fs


def forget_split_of(spec: CellSpec) -> Any:
    """The ForgetSplit of a cell (memoised per process: cells of one group share it); a
    recipe's `forget.manifest` is loaded (and its sha256 checked) instead of selected."""
    if spec.forget.get("manifest"):
        return _manifest_cached(str(spec.manifest_dir), spec.forget["manifest"])
    return _forget_split_cached(canonical_json({"dataset": spec.dataset, "split": spec.split,
                                                "forget": spec.forget,
                                                "data_dir": spec.data_dir}))


def regularizers_of(spec: CellSpec) -> list[Any]:
    """Training regularisers declared by the recipe's `fairness:` section."""
    from cure4rec.runner.recipe import build_regularizers

    return build_regularizers(spec.fairness, where="fairness")


def _fit(spec: ModelSpec, train: Any, valid: Any, ctx: RunContext,
         regs: list[Any]) -> Recommender:
    from cure4rec.methods.retrain import fit_with

    with ctx.torch_threads():
        return fit_with(spec.build(), train, valid, ctx, [f(train, ctx) for f in regs])


def original_job(spec: CellSpec, fs: Any, ctx: RunContext) -> ModelJob:
    """The model trained on the full train set, as a cache job (`cached_models`).

    Keyed by the train set's hash, not the forget split's: the core/random/edge cells of
    one data split share a single original model.
    """
    mspec = ModelSpec(spec.model["name"], spec.model["config"])
    key = model_key("original", fs.train.content_sha256(), spec.model, spec.seed,
                    spec.fairness, spec.device)
    regs = regularizers_of(spec)
    return key, mspec, functools.partial(_fit, mspec, fs.train, fs.full_valid,
                                         ctx.child("original"), regs)


def reference_jobs(spec: CellSpec, fs: Any, ctx: RunContext) -> list[ModelJob]:
    """Retrain-from-scratch references on the retain set, one per reference index, as
    cache jobs (`cached_models`).

    Seed path as in `cure4rec.methods.retrain.retrain_references`: the cell's root seed and
    the path ``retrain-reference/<j>``, so references of different cell seeds are disjoint
    draws (never root seed + offset, which made seeds s and s + 1 share references).
    """
    from cure4rec.methods.retrain import reference_context

    mspec = ModelSpec(spec.model["name"], spec.model["config"])
    regs = regularizers_of(spec)
    out: list[ModelJob] = []
    for j in range(int(spec.references.get("retrain_seeds", 8))):
        key = model_key(f"retrain-ref/{j}", fs.sha256, spec.model, spec.seed, spec.fairness,
                        spec.device)
        sctx = reference_context(ctx, "retrain-reference", j)
        out.append((key, mspec, functools.partial(_fit, mspec, fs.retain, fs.valid, sctx,
                                                  regs)))
    return out


# Original, references and fitted attack shadows of the last few cell groups (same forget
# split, model, seed, settings), so the methods of a group reuse them instead of reloading
# and refitting. The evaluator keys its shadow cache by the reference object, so the same
# reference objects must be passed to every cell of the group; results are unchanged.
_GROUPS: OrderedDict[str, Any] = OrderedDict()
_MAX_GROUPS = 2


def group_models(spec: CellSpec, fs: Any, ctx: RunContext) -> tuple[
        tuple[Recommender, Timing], list[tuple[Recommender, Timing]], dict[Any, Any]]:
    """(original, retrain references, evaluator attack cache) of the cell's group."""
    key = canonical_json({"split": fs.sha256, "model": spec.model, "seed": spec.seed,
                          "fairness": spec.fairness, "references": spec.references,
                          "cache": spec.cache_dir, "device": spec.device})
    if key not in _GROUPS:
        # one pass over the original and the references: workers starting the same group
        # train different ones side by side (`cached_models`)
        first, *refs = cached_models(spec.cache_dir, [original_job(spec, fs, ctx),
                                                      *reference_jobs(spec, fs, ctx)],
                                     spec.device)
        _GROUPS[key] = (first, refs, {})
        while len(_GROUPS) > _MAX_GROUPS:
            _GROUPS.popitem(last=False)
    _GROUPS.move_to_end(key)
    return _GROUPS[key]


def _mean_metrics(results: list[dict[str, float]]) -> dict[str, float]:
    keys = set.intersection(*(set(r) for r in results))
    return {k: float(np.mean([r[k] for r in results])) for k in sorted(keys)}


def _mean_timing(ts: list[Timing]) -> Timing:
    n = max(len(ts), 1)
    return Timing(sum(t.wall_s for t in ts) / n, sum(t.cpu_s for t in ts) / n,
                  max((t.peak_rss_mib for t in ts), default=0.0))


@contextmanager
def cell_threads(n: int) -> Iterator[None]:
    """Run a cell with exactly `n` torch intra-op threads and `n` BLAS/OpenMP threads
    (threadpoolctl: numpy's OpenBLAS, which sklearn's attack MLPs use), restoring both.

    Float reductions split differently over different thread counts, and the MIA's MLP
    attacker amplifies last-bit differences in its features: without this, the same cell
    gave ``mia_auc.retrain`` 0.501132 in-process (2 threads) and 0.476234 in a 1-thread
    pool worker on ML-100K. With it, every executor computes with the cell's `threads`.
    """
    import torch
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(max(int(n), 1))
    try:
        with threadpool_limits(limits=max(int(n), 1)):
            yield
    finally:
        torch.set_num_threads(old)


def run_cell(spec: CellSpec | dict[str, Any]) -> dict[str, Any]:
    """Run one cell and return its record (not yet written); computed with the cell's
    `threads` whatever the executor (`cell_threads`), so records are bit-identical."""
    spec = spec if isinstance(spec, CellSpec) else spec_from_dict(spec)
    with cell_threads(spec.threads):
        return _run_cell(spec)


def _run_cell(spec: CellSpec) -> dict[str, Any]:
    from cure4rec.config import config_from_dict
    from cure4rec.metrics.evaluator import EVALUATION_PROTOCOL, EvaluatorConfig, evaluate_reference

    fs = forget_split_of(spec)
    ctx = RunContext(seed=spec.seed, threads=spec.threads, device=spec.device)
    cfg = config_from_dict(EvaluatorConfig, dict(spec.evaluator), where="evaluator")
    (original, learn_t), refs, attack_cache = group_models(spec, fs, ctx)
    ref_models = [m for m, _ in refs]
    retrain_t = _mean_timing([t for _, t in refs])
    timings: dict[str, Any] = {"original_fit": learn_t.as_dict(), "retrain": retrain_t.as_dict()}
    method_desc = None
    if spec.kind == "original":
        res = evaluate_reference(fs, original, fs.train, ctx.child("eval"), cfg)
        metrics, info = dict(res.metrics), dict(res.info)
    elif spec.kind == "retrain":
        per = [evaluate_reference(fs, m, fs.retain, ctx.child("eval"), cfg) for m in ref_models]
        metrics, info = _mean_metrics([dict(r.metrics) for r in per]), {"n_references": len(per)}
    else:
        metrics, info, timings, method_desc = _run_method(spec, fs, ctx, cfg, original,
                                                          ref_models, retrain_t, timings,
                                                          attack_cache)
    info["evaluation_protocol"] = EVALUATION_PROTOCOL
    return make_record(spec.definition(), dataset=_dataset_ref(fs),
                       split={"id": fs.split_id, "sha256": fs.sha256}, metrics=metrics,
                       timings=timings, info=_jsonable(info), method=method_desc,
                       device=spec.device)


def _run_method(spec: CellSpec, fs: Any, ctx: RunContext, cfg: Any, original: Recommender,
                refs: list[Recommender], retrain_t: Timing, timings: dict[str, Any],
                attack_cache: dict[Any, Any]) -> Any:
    from cure4rec.methods.base import make_method
    from cure4rec.methods.sharded import ShardedRecommender
    from cure4rec.metrics.evaluator import evaluate_cell, evaluate_recovery

    mspec = ModelSpec(spec.model["name"], spec.model["config"])
    method = make_method(spec.method["name"], mspec, spec.method["config"],
                         regularizers=regularizers_of(spec))
    with measure() as refs_t:  # the method's own-algorithm references, if it has them
        ref_kind, refs_used = _references_for(spec, method, fs, ctx, refs)
    state = (shared_state(method, fs, ctx, original, timings["original_fit"])
             or learned_state(spec, method, fs, ctx))
    stream_timings = None
    n_req = int((spec.stream or {}).get("n_requests", 1))
    if n_req > 1:
        from cure4rec.methods.stream import split_request

        parts = split_request(fs.request, n_req, ctx.child("stream"))
        res = method.unlearn_stream(state, parts, ctx)
        model, unlearn_t, stream_timings = res.model, sum(res.timings, Timing()), res.timings
    else:
        out = method.unlearn(state, fs.request, ctx)
        model, unlearn_t = out.model, out.timing
    # Sharded methods serve a ShardedRecommender whose `user_shard` (after unlearning: the
    # partition of the retained data) gives shardGF; other models have no shards.
    shard = model.user_shard if isinstance(model, ShardedRecommender) else None
    # The "before" of this cell is the model the method itself learned (an ensemble for
    # sharded methods), not the group's plain original: the unlearning MIA, the `.original`
    # keys and the calibrated score of the original compare against what was unlearned.
    with measure() as eval_t:
        cell = evaluate_cell(fs, state.model, model, refs_used, ctx.child("eval"), config=cfg,
                             learn_timing=state.timing, unlearn_timing=unlearn_t,
                             retrain_timing=retrain_t, stream_timings=stream_timings,
                             shard_of_user=shard, cache=attack_cache, attack_template=refs[0],
                             shadow_fit=cached_shadow_fit(spec.cache_dir, spec.model, spec.seed,
                                                          spec.fairness, spec.device))
    # Opt-in (evaluator.recovery): the functional shilling test, learned and unlearned anew.
    metrics = {**cell.metrics, **evaluate_recovery(method, mspec, fs, ctx.child("eval"), cfg)}
    timings = {**timings, "learn": state.timing.as_dict(), "unlearn": unlearn_t.as_dict(),
               "evaluate": eval_t.as_dict(), "evaluate_phases_cpu_s": dict(cell.phase_cpu_s)}
    if ref_kind == "method":
        timings["method_references"] = refs_t.as_dict()
    from cure4rec.runner.provenance import method_provenance

    info = {**cell.info, "reference_kind": ref_kind, "n_references": len(refs_used),
            "method_provenance": method_provenance(method)}
    return metrics, info, timings, method.describe()


def shared_state(method: Any, fs: Any, ctx: RunContext, original: Recommender,
                 fit_timing: dict[str, float]) -> Any:
    """The learned state of a plain single-model method, from the group's original.

    Such a method's `learn` is one model of the cell's spec fitted on the train set — the
    group's original, already trained (and cached): it is shared instead of trained again,
    so every single-model method unlearns from the very model the `original` row reports.
    Methods copy `state.model` before changing it. None for anything else (sharded
    methods, methods with their own `_learn`), which learn as usual.
    """
    from cure4rec.methods.retrain import SingleModelMethod

    if not isinstance(method, SingleModelMethod) or (
            type(method)._learn is not SingleModelMethod._learn):
        return None
    from cure4rec.methods.base import LearnedState

    lctx = ctx.child(f"{method.card.name}-learn")
    return LearnedState(original, fs.train, {"ctx": lctx}, Timing(**fit_timing), fs.full_valid)


def learned_state(spec: CellSpec, method: Any, fs: Any, ctx: RunContext) -> Any:
    """`method.learn` on the train set with the split's whole validation set, through the
    content-hash cache for methods that can store their state (the sharded ones): keyed by
    the train and validation sets, not the forget split, so the core / random / edge cells
    of one data split share it."""
    key = model_key(f"learn/{canonical_json(spec.method)}",
                    f"{fs.train.content_sha256()}/{fs.full_valid.content_sha256()}",
                    spec.model, spec.seed, spec.fairness, spec.device)
    state = cached_state(spec.cache_dir, key, method, fs.train, ctx,
                         lambda: method.learn(fs.train, ctx, valid=fs.full_valid), spec.device)
    state.valid = fs.full_valid
    return state


def reference_kind(references: dict[str, Any], card: Any) -> str:
    """`retrain` or `method`: the recipe's `references.kind`, `auto` resolved by the card."""
    from cure4rec.methods.retrain import default_reference_kind

    kind = str(references.get("kind", "auto"))
    return default_reference_kind(card) if kind == "auto" else kind


def _references_for(spec: CellSpec, method: Any, fs: Any, ctx: RunContext,
                    retrains: list[Recommender]) -> tuple[str, list[Recommender]]:
    """(kind, reference models) of a method cell; method references are learned here."""
    from cure4rec.methods.retrain import method_references

    kind = reference_kind(spec.references, method.card)
    if kind == "retrain":
        return kind, retrains
    n = int(spec.references.get("method_seeds") or spec.references.get("retrain_seeds", 8))
    refs = method_references(method, fs.retain, fs.valid, ctx, range(max(n, 3)))
    log.info("%s: %d method references learned on the retained data", method.card.name,
             len(refs))
    return kind, refs


def _dataset_ref(fs: Any) -> dict[str, Any]:
    d = fs.dataset
    return {"name": d.name, "version": d.version, "sha256": d.sha256}


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist")
                                 else str(o)))
