"""Contract tests every native model must pass (determinism, state, copies, losses)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from _toy import random_split

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.models.base import MODELS, ModelSpec
from cure4rec.models.torch_base import Batch, TorchRecommender

NATIVE = ["bpr", "mf-bce", "gmf", "neumf", "lightgcn", "wmf"]
FAST = {"dim": 8, "epochs": 3, "batch_size": 64}


def _fit(name: str, seed: int = 0, **kw: object) -> TorchRecommender:
    train, valid = random_split()
    model = ModelSpec(name, {**FAST, **kw}).build()
    assert isinstance(model, TorchRecommender)
    model.fit(train, valid, RunContext(seed=seed))
    return model


@pytest.mark.parametrize("name", NATIVE)
def test_same_seed_same_scores(name: str) -> None:
    a, b = _fit(name), _fit(name)
    users = np.arange(a.n_users)
    s = a.score(users)
    assert s.dtype == torch.float32 and s.shape == (a.n_users, a.n_items)
    assert torch.equal(s, b.score(users))
    assert not torch.equal(s, _fit(name, seed=1).score(users))


@pytest.mark.parametrize("name", NATIVE)
def test_inputs_not_mutated(name: str) -> None:
    train, valid = random_split()
    before = (train.content_sha256(), valid.content_sha256(), train.user.copy())
    ModelSpec(name, FAST).build().fit(train, valid, RunContext())
    assert (train.content_sha256(), valid.content_sha256()) == before[:2]
    assert np.array_equal(train.user, before[2])


@pytest.mark.parametrize("name", NATIVE)
def test_state_dict_round_trip(name: str) -> None:
    model = _fit(name)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    fresh = MODELS.get(name)()
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    users = np.arange(model.n_users)
    assert torch.allclose(fresh.score(users), model.score(users), atol=1e-6)
    assert fresh.config == model.config


@pytest.mark.parametrize("name", NATIVE)
def test_copy_clone_tables_and_losses(name: str) -> None:
    model = _fit(name)
    twin = model.copy()
    with torch.no_grad():
        twin.user_table().add_(1.0)
    users = np.arange(5)
    assert not torch.equal(twin.score(users), model.score(users))  # independent, cache dropped
    assert model.clone().net is None and model.clone().config == model.config
    assert isinstance(model.user_table(), torch.nn.Parameter)
    assert model.user_table().shape[0] == model.n_users
    assert model.item_table().shape[0] == model.n_items
    assert model.user_embeddings().shape[0] == model.n_users
    u, i = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    pl = model.pointwise_loss(u, i, torch.tensor([1.0, 0.0, 0.5]))
    assert pl.shape == (3,) and torch.isfinite(pl).all()
    batch = Batch(u, i, torch.tensor([[6, 7], [8, 9], [10, 11]]))
    assert model.batch_loss(batch).dim() == 0


@pytest.mark.parametrize("name", ["bpr", "lightgcn", "neumf"])
def test_warm_start_regularizers_and_epochs(name: str) -> None:
    train, valid = random_split()
    base = _fit(name)
    calls: list[int] = []

    def reg(model: TorchRecommender, batch: Batch) -> torch.Tensor:
        calls.append(len(batch.users))
        return model.user_table()[batch.users].pow(2).sum() * 0.0

    tuned = base.clone()
    res = tuned.fit(train, None, RunContext(), init_from=base, regularizers=[reg], epochs=1)
    assert res.epochs == 1 and sum(calls) == len(train)
    with pytest.raises(ConfigError):
        tuned.clone().fit(train, None, RunContext(), init_from=_fit("gmf" if name != "gmf"
                                                                   else "bpr"))


def test_wmf_refuses_regularizers_and_unknown_keys() -> None:
    train, valid = random_split()
    with pytest.raises(ConfigError, match="regularizers"):
        ModelSpec("wmf", FAST).build().fit(train, valid, RunContext(),
                                           regularizers=[lambda m, b: torch.zeros(())])
    with pytest.raises(ConfigError, match="dimm"):
        ModelSpec("bpr", {"dimm": 3}).build()


def test_cache_follows_parameter_updates() -> None:
    model = _fit("lightgcn")
    first = model.user_embeddings().clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.user_table().sum().backward()
    opt.step()
    assert not torch.equal(model.user_embeddings(), first)


def test_curve_and_best_epoch() -> None:
    train, valid = random_split()
    model = ModelSpec("bpr", {**FAST, "epochs": 6, "patience": 100}).build()
    res = model.fit(train, valid, RunContext())
    assert [r["epoch"] for r in res.curve] == [1, 2, 3, 4, 5, 6]
    assert {"loss", "valid", "seconds"} <= set(res.curve[0])
    best = max(res.curve, key=lambda r: r["valid"])
    assert res.best_epoch == best["epoch"] and res.best_valid == pytest.approx(best["valid"])
