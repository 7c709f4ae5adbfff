"""The RecBole adapter on ml-100k-tiny: trains, maps ids back, agrees with RecBole's metric."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from _toy import tiny_split

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import MODELS, ModelSpec
from tests._optional import require

TINY = Path("/work/shared/datasets/ml-100k-tiny/ml-100k-tiny.inter")
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not TINY.exists(), reason="ml-100k-tiny not available")]


@pytest.fixture(scope="module")
def parts():  # type: ignore[no-untyped-def]
    require("recbole")
    return tiny_split(str(TINY))


@pytest.mark.parametrize("model", ["BPR", "LightGCN", "NeuMF", "MultiVAE", "EASE"])
def test_trains_and_matches_recbole_valid_metric(parts, model: str) -> None:  # type: ignore[no-untyped-def]
    train, valid, _ = parts
    rec = ModelSpec("recbole", {"model": model, "epochs": 2}).build()
    fit = rec.fit(train, valid, RunContext(seed=0))
    s = rec.score(np.arange(train.n_users))
    assert s.shape == (train.n_users, train.n_items) and s.dtype == torch.float32
    ours = evaluate_ranking(rec, train, valid, ks=(20,)).mean("ndcg@20")
    assert fit.best_valid is not None and abs(ours - fit.best_valid) < 1e-4  # RecBole rounds
    assert 1 <= fit.best_epoch <= fit.epochs


def test_ids_map_back_and_state_round_trip(parts) -> None:  # type: ignore[no-untyped-def]
    train, valid, _ = parts
    rec = ModelSpec("recbole", {"model": "BPR", "epochs": 1}).build()
    rec.fit(train, valid, RunContext(seed=0))
    m = rec.model
    u, i = np.array([0, 5, 17]), np.array([3, 0, 42])
    direct = (m.user_embedding.weight[torch.from_numpy(rec._uid_of[u])]
              * m.item_embedding.weight[torch.from_numpy(rec._iid_of[i])]).sum(1)
    torch.testing.assert_close(rec.score(u)[np.arange(3), i], direct.detach())
    buf = io.BytesIO()
    torch.save(rec.state_dict(), buf)
    buf.seek(0)
    fresh = MODELS.get("recbole")()
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    torch.testing.assert_close(fresh.score(np.arange(10)), rec.score(np.arange(10)))


def test_unknown_model_is_a_config_error(parts) -> None:  # type: ignore[no-untyped-def]
    train, valid, _ = parts
    with pytest.raises(ConfigError):
        ModelSpec("recbole", {"model": "NoSuchModel", "epochs": 1}).build().fit(
            train, valid, RunContext())
