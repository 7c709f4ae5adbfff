"""WMF (Hu, Koren & Volinsky 2008): confidence-weighted whole-data MF fitted by ALS.

Fitting uses `implicit`'s CPU ALS (conjugate-gradient solver). Confidence follows HKV:
c_ui = 1 + alpha for observed pairs, 1 for every unobserved pair, preference p_ui = 1[observed].
(`implicit` reads its input matrix as c_ui for observed pairs, so it receives (1 + alpha)·R.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.models.base import MODELS, FitResult
from cure4rec.models.torch_base import (
    Batch,
    DotMF,
    Regularizer,
    TorchConfig,
    TorchRecommender,
    l2,
    pos_neg_scores,
)
from cure4rec.models.trainer import validation_score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WMFConfig(TorchConfig):
    """WMF hyper-parameters: `epochs` = ALS iterations, `reg` = ALS ridge, `alpha` = HKV α."""

    epochs: int = 30
    reg: float = 20.0
    alpha: float = 2.0
    patience: int = 5
    threads: int | None = None  # ALS threads (None: implicit uses every core)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha < 0:
            raise ConfigError(f"alpha must be >= 0, got {self.alpha}")


class _Stop(Exception):
    pass


@MODELS.register("wmf")
class WMF(DotMF):
    """Whole-data WMF by ALS; the ALS factors are `user_table()` / `item_table()`."""

    name = "wmf"
    Config = WMFConfig
    config: WMFConfig
    init_std = 0.01  # small start for ALS

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """WMF's weighted squared loss on the batch: (1+α)(1-s⁺)² + Σ(s⁻)², plus L2 (for fine-tuning)."""
        u, i, j = self.batch_rows(batch)
        pos, neg = pos_neg_scores(u, i, j)
        neg_sq = neg.pow(2).sum(-1) if neg.dim() == 2 else neg.pow(2)
        loss = ((1 + self.config.alpha) * (1 - pos).pow(2) + neg_sq).mean()
        return loss + self.config.reg * l2(u, i, j)

    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext, *,
            init_from: TorchRecommender | None = None, regularizers: Sequence[Regularizer] = (),
            epochs: int | None = None) -> FitResult:
        """ALS iterations from the seeded (or `init_from`) factors, best validation kept.

        `regularizers` are refused: ALS has no gradient loss to add them to.
        """
        if regularizers:
            raise ConfigError("wmf is fitted by ALS, which has no gradient loss: regularizers "
                              "are not supported (use bpr or mf-bce for regularised training)")
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        self.setup(train, ctx, init_from)
        cfg, iters = self.config, epochs or self.config.epochs
        result = FitResult(valid_metric=cfg.valid_metric if valid is not None else "")
        best: dict[str, object] = {"v": -np.inf, "bad": 0}

        def on_iteration(it: int, seconds: float, _loss: object) -> None:
            self._load_factors(als.user_factors, als.item_factors)
            row = {"epoch": float(it + 1), "loss": float("nan"), "seconds": seconds}
            result.epochs = it + 1
            if valid is not None and ((it + 1) % cfg.eval_every == 0 or it + 1 == iters):
                v = validation_score(self, train, valid, cfg.valid_metric)
                row["valid"] = v
                if v > best["v"]:  # type: ignore[operator]
                    best.update(v=v, bad=0, U=als.user_factors.copy(), V=als.item_factors.copy())
                    result.best_epoch = it + 1
                else:
                    best["bad"] = int(best["bad"]) + 1  # type: ignore[call-overload]
            result.curve.append(row)
            if int(best["bad"]) >= cfg.patience:  # type: ignore[call-overload]
                raise _Stop

        t0 = time.perf_counter()
        with threadpool_limits(1, "blas"):
            als = AlternatingLeastSquares(factors=cfg.dim, regularization=cfg.reg, alpha=1.0,
                                          iterations=iters, calculate_training_loss=False,
                                          random_state=ctx.child("init").derived_seed(),
                                          num_threads=ctx.threads or cfg.threads or 0)
            als.user_factors = self.user_table().detach().cpu().numpy().copy()
            als.item_factors = self.item_table().detach().cpu().numpy().copy()
            try:
                als.fit((1.0 + cfg.alpha) * train.csr(), show_progress=ctx.progress or cfg.progress,
                        callback=on_iteration)
            except _Stop:
                pass
        if "U" in best:
            self._load_factors(best["U"], best["V"])  # type: ignore[arg-type]
            result.best_valid = float(best["v"])  # type: ignore[arg-type]
        else:
            result.best_epoch = result.epochs
        result.seconds = time.perf_counter() - t0
        return result

    def _load_factors(self, users: np.ndarray, items: np.ndarray) -> None:
        with torch.no_grad():
            self.user_table().copy_(torch.from_numpy(np.asarray(users)))
            self.item_table().copy_(torch.from_numpy(np.asarray(items)))
        self.invalidate()
