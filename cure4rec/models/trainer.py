"""The shared trainer of the native torch models: whole-epoch sampling, Adam, early stopping.

Each epoch shuffles every train interaction and draws its negatives at once (numpy,
vectorised), then walks large batches. Selection uses a *validation* metric only, evaluated
every `eval_every` epochs with the train set as history; the best epoch's weights are kept.

Small train sets (the shards of SISA / RecEraser / UltraRE) get a smaller batch, so that
every epoch takes at least `MIN_STEPS_PER_EPOCH` Adam steps (`epoch_batch_size`). Patience
counts epochs, so it then always spans at least patience × 12 optimiser steps: a 6.4k-row
shard at batch 4096 took 2 steps an epoch and early stopping fired after ~12 steps, before
the shard had learned anything (issue 12). Train sets of ≥ 12 × batch_size rows (49k at the
default 4096: every full ML-100K train / retain set) are unaffected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from cure4rec.context import RunContext, default_threads
from cure4rec.data.interactions import Interactions
from cure4rec.errors import DataError
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import FitResult
from cure4rec.models.sampling import NegativeSampler

if TYPE_CHECKING:
    from cure4rec.models.torch_base import Regularizer, TorchRecommender

log = logging.getLogger(__name__)


def validation_score(model: object, train: Interactions, valid: Interactions,
                     metric: str) -> float:
    """`metric` (e.g. 'ndcg@20') of `model` on `valid`, ranking outside `train`."""
    k = int(metric.split("@")[1])
    return evaluate_ranking(model, history=train, test=valid, ks=(k,)).mean(metric)


def epoch_batches(train: Interactions, sampler: NegativeSampler, rng: np.random.Generator,
                  n_neg: int, batch_size: int, device: torch.device):  # type: ignore[no-untyped-def]
    """Yield `Batch`es covering a shuffled epoch; negatives drawn for the whole epoch at once."""
    from cure4rec.models.torch_base import Batch

    order = rng.permutation(len(train))
    users = train.user[order]
    neg = sampler.sample(users, n_neg, rng)
    u = torch.from_numpy(users).to(device)
    p = torch.from_numpy(train.item[order]).to(device)
    n = torch.from_numpy(neg[:, 0] if n_neg == 1 else neg).to(device)
    for s in range(0, len(order), batch_size):
        yield Batch(u[s:s + batch_size], p[s:s + batch_size], n[s:s + batch_size])


#: fewest optimiser steps an epoch takes: the batch shrinks for smaller train sets (shards)
MIN_STEPS_PER_EPOCH = 12
#: ... but never below this many rows (nor above the configured batch size)
MIN_SCALED_BATCH = 128


def epoch_batch_size(n_rows: int, batch_size: int, min_steps: int = MIN_STEPS_PER_EPOCH,
                     floor: int = MIN_SCALED_BATCH) -> int:
    """The batch size of an epoch over `n_rows`: `batch_size`, shrunk to ceil(n/min_steps)
    (not below `floor`) so a small shard still takes `min_steps` optimiser steps an epoch."""
    return int(min(batch_size, max(floor, -(-n_rows // min_steps))))


def training_threads(ctx: RunContext, configured: int | None) -> int:
    """Intra-op threads for training: `ctx.threads` (a pool worker's share) wins, then the
    model config, and `None` in both means every CPU this process may run on."""
    return ctx.threads or configured or default_threads()


def make_adam(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel per step where torch offers it (same update rule).

    The fused kernel does not bump the parameters' version counters, so `_run_epoch`
    drops the model's scoring cache itself (`invalidate()`) after every step.
    """
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError):  # a device or dtype without a fused kernel
        return torch.optim.Adam(params, lr=lr)


def train_model(model: TorchRecommender, train: Interactions, valid: Interactions | None,
                ctx: RunContext, regularizers: Sequence[Regularizer] = (),
                epochs: int = 1) -> FitResult:
    """Fit `model` (already set up) and restore its best-validation weights."""
    if len(train) == 0:
        raise DataError("cannot train on an empty train set")
    cfg = model.config
    sampler = NegativeSampler(train)
    rng = ctx.child("sampler").rng()
    opt = make_adam(model.parameters(), cfg.lr)
    result = FitResult(valid_metric=cfg.valid_metric if valid is not None else "")
    best_state, best, bad = None, -np.inf, 0
    t0 = time.perf_counter()
    tctx = replace(ctx, threads=training_threads(ctx, cfg.threads))
    with tctx.torch_threads():
        bar = tqdm(range(1, epochs + 1), disable=not (ctx.progress or cfg.progress),
                   desc=f"train {model.name}", leave=False)
        for epoch in bar:
            te, ce = time.perf_counter(), time.process_time()
            loss = _run_epoch(model, opt, train, sampler, rng, regularizers)
            row = {"epoch": float(epoch), "loss": loss, "seconds": time.perf_counter() - te,
                   "cpu_seconds": time.process_time() - ce}
            result.epochs = epoch
            if valid is not None and (epoch % cfg.eval_every == 0 or epoch == epochs):
                v = validation_score(model, train, valid, cfg.valid_metric)
                row["valid"] = v
                if v > best:
                    best, bad, result.best_epoch = v, 0, epoch
                    best_state = {k: t.detach().clone() for k, t in
                                  model.module.state_dict().items()}
                else:
                    bad += 1
                bar.set_postfix(loss=f"{loss:.4f}", valid=f"{v:.4f}")
            result.curve.append(row)
            log.debug("%s epoch %d: %s", model.name, epoch, row)
            if bad >= cfg.patience:
                break
    if best_state is not None:
        model.module.load_state_dict(best_state)
        result.best_valid = float(best)
    else:
        result.best_epoch = result.epochs
    model.invalidate()
    result.seconds = time.perf_counter() - t0
    return result


def _run_epoch(model: TorchRecommender, opt: torch.optim.Optimizer, train: Interactions,
               sampler: NegativeSampler, rng: np.random.Generator,
               regularizers: Sequence[Regularizer]) -> float:
    cfg = model.config
    model.module.train()
    total, n = torch.zeros((), device=model.device), 0
    batch_size = epoch_batch_size(len(train), cfg.batch_size)
    for batch in epoch_batches(train, sampler, rng, cfg.n_negatives, batch_size,
                               model.device):
        # BPR / LightGCN hand-write their gradient (no autograd graph: ~2x faster BPR epochs);
        # added regularizers need autograd, so they always take the generic path
        loss = None if regularizers else model.manual_step_grads(batch)
        if loss is None:
            loss = model.batch_loss(batch)
            for reg in regularizers:
                loss = loss + reg(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        model.invalidate()  # fused Adam leaves version counters alone: the cache cannot see it
        total += loss.detach() * len(batch.users)
        n += len(batch.users)
    model.module.eval()
    return float(total) / max(n, 1)
