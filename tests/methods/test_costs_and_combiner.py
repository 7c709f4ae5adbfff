"""CPU-time costs of sharded unlearning and UltraRE's trained-only combiner (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import _with_shard_costs, make_method
from cure4rec.metrics.catalog import metric_info
from cure4rec.metrics.efficiency import Timing
from cure4rec.testing import TOY_MODEL, toy_interactions

CTX = RunContext(seed=5)


def test_parallel_cost_is_the_rest_plus_the_slowest_shard() -> None:
    t = _with_shard_costs(Timing(10.0, 9.0), {"shard_cpu_s": [2.0, 3.0, 1.0],
                                              "share_touched": 0.3})
    assert t.cpu_parallel_s == pytest.approx(9.0 - 6.0 + 3.0)
    assert t.share_touched == 0.3
    d = t.as_dict()
    assert d["cpu_parallel_s"] == pytest.approx(6.0) and d["share_touched"] == 0.3
    single = Timing(1.0, 2.0).as_dict()  # one job: parallel = sequential, no share
    assert single["cpu_parallel_s"] == 2.0 and "share_touched" not in single
    both = Timing(1.0, 2.0) + t
    assert both.cpu_s == 11.0 and both.parallel_cpu_s == pytest.approx(8.0)


def test_cpu_speedup_keys_are_catalogued_as_higher_is_better() -> None:
    from cure4rec.metrics.evaluator import _efficiency

    out = _efficiency(None, Timing(1.0, 2.0, 0.0, 1.0, 0.5), Timing(4.0, 8.0), None)
    assert out["efficiency.speedup_cpu_vs_retrain"] == pytest.approx(4.0)
    assert out["efficiency.speedup_cpu_parallel_vs_retrain"] == pytest.approx(8.0)
    assert out["efficiency.unlearn_share_touched"] == 0.5
    for key in out:
        want = "higher" if "speedup" in key else "lower"
        assert metric_info(key).direction == want, key


def test_sharded_unlearn_reports_shard_costs() -> None:
    train = toy_interactions()
    users = np.array([0, 1])
    req = ForgetRequest("users", train.subset(train.users_mask(users)), users)
    m = make_method("sisa", TOY_MODEL, {"shards": 4})
    out = m.unlearn(m.learn(train, CTX), req, CTX)
    costs = out.info["shard_cpu_s"]
    assert len(costs) == len(out.info["touched_shards"]) and min(costs) >= 0
    t = out.timing
    assert t.share_touched == len(costs) / 4
    assert t.parallel_cpu_s <= t.cpu_s + 1e-9
    strict = make_method("ultrare", TOY_MODEL, {"shards": 3, "lr_steps": 20, "strict": True})
    s = strict.unlearn(strict.learn(train, CTX), req, CTX)
    assert s.timing.share_touched == 1.0 and len(s.info["shard_cpu_s"]) == 3


def test_ultrare_combiner_ranks_each_user_by_the_shards_that_trained_them() -> None:
    train = toy_interactions()
    m = make_method("ultrare", TOY_MODEL, {"shards": 3, "lr_steps": 30})
    rec = m.learn(train, CTX).model
    comb = rec.aggregator  # type: ignore[attr-defined]
    users = np.arange(train.n_users)
    served = rec.score(users)
    own = torch.stack([rec.models[int(rec.user_shard[u])].score([u])[0]  # type: ignore[attr-defined]
                       for u in users])
    w = comb.w[torch.as_tensor(rec.user_shard)][:, None]  # type: ignore[attr-defined]
    assert torch.allclose(served, w * own + comb.b, atol=1e-5)
    old = make_method("ultrare", TOY_MODEL, {"shards": 3, "lr_steps": 30, "combine": "all"})
    assert old.learn(train, CTX).model.aggregator.mask is None  # type: ignore[attr-defined]
