"""The four-aspect evaluator: utility, completeness, efficiency and fairness of one cell.

`evaluate_cell` scores an unlearned model against the model the method learned (its own
`learn` output, the "original" of this cell) and N ≥ 3 retrained references (independent
seeds, trained on `fs.retain`); `evaluate_reference` scores a reference row (original /
retrain) on utility and fairness only. Keys are flat ``aspect.name`` strings, each resolved by
`cure4rec.metrics.catalog.metric_info`; values are not rounded. The completeness headline is
`completeness.calibrated` (`cure4rec.metrics.calibrated`); the rest are diagnostics.
Definitions: docs/metrics.md.

Evaluation protocol `EVALUATION_PROTOCOL` (recorded in every record): test rankings exclude
each user's train *and* validation items (``cure4rec-compat``: train only, as CURE4Rec), the
same history for every row (the forgotten users' deleted items are excluded for the
original, the unlearned and the retrained model alike), ties broken by a seeded random item
order (never by item index), N references on disjoint seed paths.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cure4rec.config import config_from_dict, config_to_dict
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics import fairness as fair
from cure4rec.metrics.attribute_attack import ATTACKERS, CHEAP_ATTACKERS, attribute_attack
from cure4rec.metrics.calibrated import (
    ReferenceStats,
    candidate_history,
    forget_percentiles,
    headline_unit,
)
from cure4rec.metrics.completeness import GroupDistances, completeness_metrics, user_groups
from cure4rec.metrics.difficulty import SCORES, difficulty, ratio_by_quantile
from cure4rec.metrics.efficiency import Timing, latency_summary
from cure4rec.metrics.memo import PassMemo, memo_or_new
from cure4rec.metrics.mia import ShadowFit, fit_shadow, mio, run_mia, train_user_attack
from cure4rec.metrics.ranking import MODES, RankingResult, evaluate_ranking
from cure4rec.metrics.recovery import recovery_metrics
from cure4rec.metrics.unlearning_mia import train_unlearning_attack, unlearning_mia

log = logging.getLogger(__name__)

EVALUATION_PROTOCOL = "cure4rec-eval/2"


@dataclass(frozen=True)
class EvaluatorConfig:
    """What the evaluator computes and with which constants (unknown keys are errors)."""

    ks: tuple[int, ...] = (10, 20)
    mode: str = "standard"
    completeness: bool = True
    mia: bool = True
    mia_user_level: bool = True
    unlearning_mia: bool = True
    calibrated: bool = True
    mio: bool = False
    recovery: bool = False
    bootstrap: int = 1000
    neighbours_k: int = 500
    completeness_k: int = 20
    rbo_p: float = 0.9
    js_tau: float = 1.0
    mia_topk: int = 100
    svd_dim: int = 64
    shadow_epochs: int | None = None
    difficulty: str | None = "hessian"
    fairness_metric: str = "ndcg@20"
    active_fraction: float = 0.05
    attribute_attackers: tuple[str, ...] = CHEAP_ATTACKERS
    attribute_folds: int = 5
    attribute_repeats: int = 1

    def __post_init__(self) -> None:
        if not self.ks or min(self.ks) < 1:
            raise ConfigError(f"evaluator.ks must be positive integers, got {self.ks}")
        if self.mode not in MODES:
            raise ConfigError(f"evaluator.mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.difficulty is not None and self.difficulty not in SCORES:
            raise ConfigError(f"evaluator.difficulty {self.difficulty!r}: use {SCORES} or null")
        if not 0 < self.rbo_p < 1 or self.js_tau <= 0 or not 0 < self.active_fraction < 1:
            raise ConfigError("evaluator: need 0 < rbo_p < 1, js_tau > 0, 0 < active_fraction < 1")
        if min(self.bootstrap, self.neighbours_k, self.completeness_k, self.mia_topk) < 0:
            raise ConfigError("evaluator: counts (bootstrap, neighbours_k, ...) must be ≥ 0")
        if self.attribute_folds < 2 or self.attribute_repeats < 1:
            raise ConfigError("evaluator: need attribute_folds ≥ 2 and attribute_repeats ≥ 1")
        unknown = sorted(set(self.attribute_attackers) - set(ATTACKERS))
        if unknown:
            raise ConfigError(f"evaluator.attribute_attackers: unknown {', '.join(unknown)}; "
                              f"use {', '.join(ATTACKERS)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None, where: str = "evaluator"
                  ) -> EvaluatorConfig:
        """Validated config from a recipe mapping."""
        return config_from_dict(cls, values, where)


@dataclass
class CellResult:
    """Flat metrics (`aspect.name` → float) and JSON-able info (group sizes, config...).

    `phase_cpu_s`: process CPU seconds of each evaluation phase (``utility``, ``calibrated``,
    ``completeness``, ``attacks``...), where the evaluation's time went; not a metric.
    """

    metrics: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)
    phase_cpu_s: dict[str, float] = field(default_factory=dict)


@contextmanager
def _phase(spent: dict[str, float], name: str) -> Iterator[None]:
    """Add the enclosed block's process CPU seconds to ``spent[name]``."""
    c0 = time.process_time()
    try:
        yield
    finally:
        spent[name] = spent.get(name, 0.0) + time.process_time() - c0


def ranking_history(fs: Any, mode: str = "standard") -> Interactions:
    """The items excluded from every test ranking of `fs`, the same for every row.

    ``standard``: the full train set (forgotten pairs included: they are never test items,
    and excluding them for every model keeps the candidate sets equal) plus every validation
    pair (retained users' and the forgotten users' held-out ones); ``cure4rec-compat``: the
    train set only (CURE4Rec does not mask validation items).
    """
    hist = fs.train
    if mode == "cure4rec-compat":
        return hist
    for part in (fs.valid, getattr(fs, "holdout_valid", None)):
        if part is not None and len(part):
            hist = hist.concat(part)
    return hist


def _utility(model: object, history: Interactions, test: Interactions, cfg: EvaluatorConfig,
             prefix: str) -> tuple[dict[str, float], RankingResult]:
    res = evaluate_ranking(model, history, test, cfg.ks, cfg.mode)  # type: ignore[arg-type]
    return {f"{prefix}{k}": v for k, v in res.means().items()}, res


def _fairness(res: RankingResult, retain: Interactions, ctx: RunContext, cfg: EvaluatorConfig,
              shard_of_user: np.ndarray | None) -> dict[str, float]:
    m = cfg.fairness_metric
    if m not in res.per_user:
        return {}
    group = fair.activity_groups(retain, cfg.active_fraction)
    out = {f"fairness.{k.replace('/', '_')}": v
           for k, v in fair.fairness_report(res, group, m).items() if "/" in k
           and k.split("/")[0] in fair.STATS}
    if cfg.bootstrap > 0:
        for name, iv in fair.bootstrap_fairness(res, group, ctx, m, cfg.bootstrap).items():
            out[f"fairness.{name}_{m}.ci_low"], out[f"fairness.{name}_{m}.ci_high"] = iv.low, iv.high
    if shard_of_user is not None:
        out[f"fairness.shardgf_{m}"] = fair.shard_gf(res.per_user[m],
                                                     np.asarray(shard_of_user)[res.users])
    return out


def _efficiency(learn: Timing | None, unlearn: Timing | None, retrain: Timing | None,
                stream: Sequence[Timing] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, t in (("learn", learn), ("unlearn", unlearn), ("retrain", retrain)):
        if t is not None:
            out.update({f"efficiency.{name}_{k}": float(v) for k, v in t.as_dict().items()})
    if unlearn is not None and retrain is not None and unlearn.wall_s > 0:
        out["efficiency.speedup_vs_retrain"] = retrain.wall_s / unlearn.wall_s
    if unlearn is not None and retrain is not None and unlearn.cpu_s > 0:  # CPU: issue 12
        out["efficiency.speedup_cpu_vs_retrain"] = retrain.cpu_s / unlearn.cpu_s
        out["efficiency.speedup_cpu_parallel_vs_retrain"] = (
            retrain.parallel_cpu_s / max(unlearn.parallel_cpu_s, 1e-12))
    if stream:
        lat = latency_summary([t.wall_s for t in stream])
        out["efficiency.stream_mean_s"], out["efficiency.stream_p95_s"] = lat["mean_s"], lat["p95_s"]
    return out


def evaluate_reference(fs: Any, model: object, history: Interactions | None, ctx: RunContext,
                       config: EvaluatorConfig | None = None) -> CellResult:
    """Utility and fairness of a reference model (the original or a retrain) on `fs`.

    `history` is accepted for compatibility and ignored: every row ranks with
    `ranking_history(fs)`, so the rows of a section are comparable.
    """
    cfg = config or EvaluatorConfig()
    ctx = ctx.child("evaluate-reference")
    hist = ranking_history(fs, cfg.mode)
    metrics, res = _utility(model, hist, fs.test, cfg, "utility.")
    if len(fs.holdout_test):
        metrics.update(_utility(model, hist, fs.holdout_test, cfg, "utility.forgotten.")[0])
    metrics.update(_fairness(res, fs.retain, ctx, cfg, None))
    info: dict[str, Any] = {"mode": cfg.mode, "n_users": int(len(res.users)),
                            "evaluator": config_to_dict(cfg)}
    if fs.request.kind == "attribute" and cfg.completeness:
        metrics.update(_attribute_attacks(fs, {"": model}, ctx, cfg, info))
    return CellResult(metrics, info)


def evaluate_cell(fs: Any, original: object, unlearned: object, references: Sequence[object],
                  ctx: RunContext, *, config: EvaluatorConfig | None = None,
                  learn_timing: Timing | None = None, unlearn_timing: Timing | None = None,
                  retrain_timing: Timing | None = None,
                  stream_timings: Sequence[Timing] | None = None,
                  shard_of_user: np.ndarray | None = None,
                  cache: dict[Any, Any] | None = None,
                  attack_template: object | None = None,
                  shadow_fit: ShadowFit | None = None) -> CellResult:
    """All four aspects of one (method, split, model, seed) cell.

    `references` (N ≥ 3 independent seeds, trained on `fs.retain`) are what completeness is
    judged against: plain retrains, or for an exact method its own algorithm rerun on the retained
    data. `attack_template` (default `references[0]`) is the model whose architecture the
    attack shadows clone. `cache` (any dict, reused across the methods of one split) keeps
    the fitted attack shadows, which depend on the split, the template and the context
    only: the metrics are identical with and without it. `shadow_fit` fits the attack
    shadows (default `cure4rec.metrics.mia.fit_shadow`; the runner's loads them from its
    model cache when another worker or an earlier run fitted them).
    """
    cfg = config or EvaluatorConfig()
    need = 3 if cfg.completeness and cfg.calibrated else 2
    if (cfg.completeness or cfg.mia) and len(references) < need:
        raise ConfigError(f"evaluate_cell needs ≥{need} retrained references (the calibrated "
                          f"completeness null is leave-one-out over them; 8 recommended), "
                          f"got {len(references)}")
    ctx = ctx.child("evaluate")
    forget: Interactions = fs.request.forget
    spent: dict[str, float] = {}
    cache = {} if cache is None else cache
    # per-model passes over the forgotten pairs, once each; the group's models' for every cell
    memo = PassMemo(cache, (original, *references))
    with _phase(spent, "utility"):
        groups = user_groups(fs.retain, forget, fs.request.users, ctx.child("groups").rng(),
                             cfg.neighbours_k)
        hist = ranking_history(fs, cfg.mode)
        metrics, res = _utility(unlearned, hist, fs.test, cfg, "utility.")
        if fs.request.kind != "attribute":  # nothing deleted: no forget set, no neighbours
            nb = res.restrict(groups.neighbours)
            metrics.update({f"utility.neighbours.{k}": v for k, v in nb.means().items()})
        if len(fs.holdout_test):
            metrics.update(_utility(unlearned, hist, fs.holdout_test, cfg,
                                    "utility.forgotten.")[0])
    with _phase(spent, "fairness"):
        metrics.update(_fairness(res, fs.retain, ctx, cfg, shard_of_user))
    metrics.update(_efficiency(learn_timing, unlearn_timing, retrain_timing, stream_timings))
    info: dict[str, Any] = {"mode": cfg.mode, "evaluator": config_to_dict(cfg),
                            "groups": {g: int(len(u)) for g, u in groups.items()},
                            "n_stream_requests": len(stream_timings or ())}
    if cfg.completeness and cfg.calibrated and len(forget):
        with _phase(spent, "calibrated"):
            metrics.update(calibrated_metrics(fs, original, unlearned, references, cache,
                                              memo))
    if cfg.completeness and len(forget):
        with _phase(spent, "completeness"):
            comp, per_group = completeness_metrics(
                unlearned, references, groups, fs.retain, forget, cfg.completeness_k,
                cfg.rbo_p, cfg.js_tau, original, cache, memo)
            metrics.update({f"completeness.{k}": v for k, v in comp.items()})
        if cfg.difficulty:
            with _phase(spent, "difficulty"):
                info["difficulty"] = _strata(metrics, per_group["forgotten"], original,
                                             fs.train, ctx, cfg.difficulty)
    if fs.request.kind == "attribute" and cfg.completeness:
        with _phase(spent, "attribute_attacks"):
            metrics.update(_attribute_attacks(fs, {"": unlearned, ".original": original}, ctx,
                                              cfg, info, cache))
    if cfg.mia and len(forget):
        template = references[0] if attack_template is None else attack_template
        with _phase(spent, "attacks"):
            metrics.update(_attacks(fs, original, unlearned, references, template, ctx, cfg,
                                    cache, memo, shadow_fit or fit_shadow))
    log.info("evaluated cell %s: %d metrics", getattr(fs, "split_id", "?"), len(metrics))
    return CellResult(metrics, info, spent)


def calibrated_metrics(fs: Any, original: object, unlearned: object,
                       references: Sequence[object], cache: dict[Any, Any],
                       memo: PassMemo | None = None) -> dict[str, float]:
    """``completeness.calibrated*``: the headline score, its z / p / noise / verdict, the
    same for the method's original (`.original`) and the pair-level variant (`_pairs`).

    Candidates exclude the retained history and the validation pairs (as for utility, minus
    the forgotten pairs themselves). The references' statistics are computed once per group
    (`cache`; the entry holds the reference objects, so their ids stay valid); each model's
    percentiles once for both units (`memo`).
    """
    forget: Interactions = fs.request.forget
    hist = candidate_history(fs)
    memo = memo_or_new(memo)

    def pct(m: object) -> np.ndarray:
        return memo.get("calibrated-percentiles", m,
                        lambda: forget_percentiles(m, forget, hist))

    out: dict[str, float] = {}
    units = [(headline_unit(fs.request.kind), "completeness.calibrated")]
    if units[0][0] != "pairs":
        units.append(("pairs", "completeness.calibrated_pairs"))
    for unit, prefix in units:
        key = ("calibrated", getattr(fs, "sha256", id(fs)), unit,
               tuple(id(r) for r in references))
        if key not in cache:
            cache[key] = (tuple(references), ReferenceStats.from_percentiles(
                [pct(r) for r in references], forget, unit))
        stats: ReferenceStats = cache[key][1]
        res = stats.score_percentiles(pct(unlearned), forget)
        if prefix == "completeness.calibrated":
            out.update(res.as_metrics(prefix))
            out[f"{prefix}.original"] = stats.score_percentiles(pct(original), forget).score
            out[f"{prefix}.n_references"] = float(res.n_references)
        else:
            out.update({prefix: res.score, f"{prefix}.z": res.z, f"{prefix}.p": res.p})
    return out


def evaluate_recovery(method: Any, model_spec: Any, fs: Any, ctx: RunContext,
                      config: EvaluatorConfig | None = None, reference: object | None = None
                      ) -> dict[str, float]:
    """``completeness.recovery*`` (functional shilling test) if `config.recovery`, else {}.

    It learns and unlearns `method` once more on train ∪ fake users: opt-in, as it costs
    one extra learn + unlearn (+ one retrain unless `reference` is given).
    """
    cfg = config or EvaluatorConfig()
    if not cfg.recovery:
        return {}
    return recovery_metrics(method, model_spec, fs, ctx.child("recovery"), reference,
                            max(cfg.ks))


def _attribute_attacks(fs: Any, models: dict[str, object], ctx: RunContext,
                       cfg: EvaluatorConfig, info: dict[str, Any],
                       cache: dict[Any, Any] | None = None) -> dict[str, float]:
    """Completeness of an attribute request: can the attribute still be inferred?

    Attribute-inference attacks (`cure4rec.metrics.attribute_attack`, every labelled user,
    no down-sampling) by the adversaries of docs/fairness.md, labels = the request's users'
    classes (in-sample):
    (a) the served user representation: `completeness.attr_{auc,bacc,f1}.<attacker>[<suffix>]`
        (suffix "" = this model, ".original"); out-of-sample, over the labelled users the
        request does *not* list (when there are enough): `completeness.attr_auc_oos.<attacker>`;
    (b) the top-`completeness_k` lists: `completeness.attr_auc.lists.<attacker>[<suffix>]`;
    (c) the change of the served representation, unlearned − original:
        `completeness.attr_auc.diff.<attacker>`.
    Headline `completeness.attr_auc_max[<suffix>]`: the largest of these AUCs, named in
    `info["attribute_attack"]["headline"]`. Chance: AUC 0.5, `completeness.attr_chance_bacc`
    = 1/K. The same seeds (folds) for every model of the split; `cache` keeps the original's
    scores (attacked once for all the methods of a split). Models without a user embedding
    table (ensembles, RecBole) are skipped, with the reason in `info["attribute_attack"]`.
    """
    from cure4rec.fairness.embeddings import attribute_codes, user_representation
    from cure4rec.metrics.attribute_attack import difference_features, topk_features

    codes, classes = attribute_codes(fs.train, str(fs.request.attribute))
    labels = np.full_like(codes, -1)
    labels[fs.request.users] = codes[fs.request.users]
    oos = np.where(labels < 0, codes, -1)
    _, oos_counts = np.unique(oos[oos >= 0], return_counts=True)
    use_oos = len(oos_counts) >= 2 and oos_counts.min() >= cfg.attribute_folds
    actx = RunContext(seed=ctx.seed, threads=ctx.threads).child("attribute-attack")
    # Only the original is cached: it lives as long as its group, so its id cannot be
    # reused by another model while the cache holds it (an unlearned model's could).
    memo = {} if cache is None else cache
    out: dict[str, float] = {}
    reps: dict[str, np.ndarray] = {}
    heads: dict[str, str] = {}
    first: Any = None

    def attack(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return attribute_attack(x, y, actx, cfg.attribute_attackers, cfg.attribute_folds,
                                cfg.attribute_repeats)

    for suffix, model in models.items():
        key = ("attribute-attack", getattr(fs, "sha256", id(fs)), ctx.seed, id(model),
               cfg.attribute_attackers, cfg.attribute_folds, cfg.attribute_repeats,
               cfg.completeness_k)
        try:
            reps[suffix] = user_representation(model)
        except ConfigError as exc:
            info["attribute_attack"] = f"unavailable: {exc}"
            return {}
        if suffix == ".original" and key in memo:
            _, part, head, first = memo[key]
        else:
            panels = {"": attack(reps[suffix], labels),
                      ".lists": attack(topk_features(model, fs.train, cfg.completeness_k),
                                       labels)}
            if use_oos:
                panels["_oos"] = attack(reps[suffix], oos)
            first = next(iter(panels[""].values()))
            part = {}
            for name, sc in panels[""].items():
                part.update({f"completeness.attr_auc.{name}{suffix}": sc.auc,
                             f"completeness.attr_bacc.{name}{suffix}": sc.balanced_accuracy,
                             f"completeness.attr_f1.{name}{suffix}": sc.f1})
            for name, sc in panels[".lists"].items():
                part[f"completeness.attr_auc.lists.{name}{suffix}"] = sc.auc
            for name, sc in panels.get("_oos", {}).items():
                part[f"completeness.attr_auc_oos.{name}{suffix}"] = sc.auc
            best = max(((sc.auc, f"{adv or 'rep'}/{name}") for adv, p in panels.items()
                        for name, sc in p.items()), key=lambda t: t[0])
            part[f"completeness.attr_auc_max{suffix}"], head = best
            if suffix == ".original":  # the entry holds the model: its id stays valid
                memo[key] = (model, part, head, first)
        out.update(part)
        heads[suffix or "unlearned"] = head
    if "" in reps and ".original" in reps:
        diff = attack(difference_features(reps[".original"], reps[""]), labels)
        for name, sc in diff.items():
            out[f"completeness.attr_auc.diff.{name}"] = sc.auc
        d_auc, d_name = max((sc.auc, name) for name, sc in diff.items())
        if d_auc > out["completeness.attr_auc_max"]:
            out["completeness.attr_auc_max"], heads["unlearned"] = d_auc, f"diff/{d_name}"
    out["completeness.attr_chance_bacc"] = first.chance_balanced_accuracy
    info["attribute_attack"] = {"attribute": fs.request.attribute, "classes": classes,
                                "n_per_class": first.n_per_class, "n_users": first.n_users,
                                "out_of_sample": bool(use_oos), "headline": heads}
    return out


def _strata(metrics: dict[str, float], gd: GroupDistances, original: object,
            train: Interactions, ctx: RunContext, score: str) -> str:
    """Add the per-difficulty-quartile overlap ratios; models without embeddings are skipped."""
    try:
        diff = difficulty(original, train, ctx, score)[gd.users]
    except ConfigError as exc:  # e.g. a sharded ensemble: no single embedding table
        log.info("difficulty strata skipped: %s", exc)
        return f"unavailable: {exc}"
    qs = ratio_by_quantile(gd.unlearned["topk_overlap"], gd.seed["topk_overlap"], diff)
    metrics.update({f"completeness.topk_overlap_ratio.forgotten.q{n + 1}": q
                    for n, q in enumerate(qs)})
    return score


def _shadows(fs: Any, template: object, ctx: RunContext, cfg: EvaluatorConfig,
             cache: dict[Any, Any], fit: ShadowFit = fit_shadow) -> tuple[Any, Any]:
    """The fitted user-level and unlearning attacks of this split (from `cache` if there)."""
    key = ("attacks", getattr(fs, "sha256", id(fs)), ctx.seed, ctx.path, cfg.mia_topk,
           cfg.svd_dim, cfg.shadow_epochs, cfg.unlearning_mia, id(template))
    if key not in cache:
        user = train_user_attack(template, fs.retain, fs.train, ctx, cfg.mia_topk,
                                 cfg.svd_dim, cfg.shadow_epochs, fs.valid, fit)
        unl = None
        if cfg.unlearning_mia:  # shadow users' test rows: never trained, not used to stop
            unl = train_unlearning_attack(user.shadow, user.shadow_users, fs.retain, fs.test,
                                          fs.valid, ctx, len(fs.request.users),
                                          cfg.shadow_epochs, fit)
        cache[key] = (user, unl)
    return cache[key]


def _attacks(fs: Any, original: object, unlearned: object, references: Sequence[object],
             template: object, ctx: RunContext, cfg: EvaluatorConfig,
             cache: dict[Any, Any], memo: PassMemo | None = None,
             fit: ShadowFit = fit_shadow) -> dict[str, float]:
    forget = fs.request.forget
    holdout = fs.holdout_test.concat(fs.holdout_valid) if len(fs.holdout_valid) else fs.holdout_test
    mctx = ctx.child("mia")
    user, unl = (_shadows(fs, template, mctx, cfg, cache, fit) if cfg.mia_user_level
                 or cfg.unlearning_mia else (None, None))
    raw = run_mia(original, unlearned, references, fs.train, fs.retain, forget, holdout,
                  mctx, cfg.mia_topk, cfg.svd_dim, cfg.shadow_epochs, cfg.mia_user_level,
                  valid=fs.valid, attack=user, memo=memo)
    models = {"original": original, "unlearned": unlearned, "retrain": references[0]}
    if unl is not None and len(holdout):
        raw.update(unlearning_mia(unl, original, models, forget, holdout, memo))
    if cfg.mio and len(holdout):
        raw.update(mio(models, forget, holdout, ctx.child("mio")))
        if "mio_auc.unlearned" in raw:
            raw["mio_auc_gap"] = raw["mio_auc.unlearned"] - raw["mio_auc.retrain"]
            raw["mio_acc_gap"] = raw["mio_acc.unlearned"] - raw["mio_acc.retrain"]
    return {f"completeness.{k.removesuffix('.unlearned')}": v for k, v in raw.items()}
