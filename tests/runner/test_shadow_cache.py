"""The attack shadows through the model cache: the same metrics, and a second process (a
fresh evaluator cache, as another pool worker or a resumed run has) fits no shadow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cure4rec.metrics import mia
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_cell
from cure4rec.runner import cache as cache_mod
from cure4rec.runner.cache import cached_shadow_fit
from tests.metrics._cells import SPEC, cell

FAST = EvaluatorConfig(bootstrap=50, mia_topk=50, svd_dim=16, neighbours_k=100, calibrated=True)
MODEL = {"name": SPEC.name, "config": SPEC.config}


def _completeness(m: dict) -> str:
    return json.dumps({k: v for k, v in m.items() if k.startswith("completeness.")},
                      sort_keys=True)  # NaN-safe comparison


@pytest.mark.slow
def test_cached_shadows_give_the_same_metrics_and_are_fitted_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = cell()
    plain = evaluate_cell(c.fs, c.original, c.heldout, c.refs, c.ctx, config=FAST).metrics
    fits: list[tuple[str, ...]] = []
    real = mia.fit_shadow

    def counted(template, data, valid, ctx, epochs=None):
        fits.append(ctx.path)
        return real(template, data, valid, ctx, epochs)

    monkeypatch.setattr(cache_mod, "fit_shadow", counted)
    fit = cached_shadow_fit(tmp_path, MODEL, c.ctx.seed, {})
    first = evaluate_cell(c.fs, c.original, c.heldout, c.refs, c.ctx, config=FAST,
                          cache={}, shadow_fit=fit).metrics
    assert len(fits) == 2  # the user-level shadow and the unlearning shadow's retrain
    assert len(list(tmp_path.glob("*.pt"))) == 2
    second = evaluate_cell(c.fs, c.original, c.heldout, c.refs, c.ctx, config=FAST,
                           cache={}, shadow_fit=fit).metrics  # another worker's process
    assert len(fits) == 2  # loaded, not fitted
    assert _completeness(first) == _completeness(plain) == _completeness(second)
    other = cached_shadow_fit(tmp_path, MODEL, c.ctx.seed + 1, {})  # another cell seed
    evaluate_cell(c.fs, c.original, c.heldout, c.refs, c.ctx, config=FAST, cache={},
                  shadow_fit=other)
    assert len(fits) == 4 and len(list(tmp_path.glob("*.pt"))) == 4
