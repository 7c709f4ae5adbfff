"""RunContext seed derivation, config validation and registries."""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
import torch

from cure4rec.config import config_from_dict, config_hash
from cure4rec.context import RunContext
from cure4rec.errors import ConfigError, UnknownNameError
from cure4rec.registry import Registry


def test_child_streams_are_reproducible_and_independent():
    ctx = RunContext(seed=7)
    a1 = ctx.child("shard1").rng().random(4)
    a2 = ctx.child("shard1").rng().random(4)
    b = ctx.child("shard2").rng().random(4)
    assert np.array_equal(a1, a2) and not np.array_equal(a1, b)
    assert not np.array_equal(a1, RunContext(seed=8).child("shard1").rng().random(4))


def test_seeded_torch_restores_global_state():
    before = torch.random.get_rng_state().clone()
    with RunContext(seed=1).child("init").seeded_torch():
        x = torch.rand(3)
    assert torch.equal(torch.random.get_rng_state(), before)
    with RunContext(seed=1).child("init").seeded_torch():
        assert torch.equal(torch.rand(3), x)


@dataclass(frozen=True)
class _Cfg:
    dim: int = 8
    lr: float = 0.1
    agg: Literal["mean", "own-shard"] = "mean"
    ks: tuple[int, ...] = (10, 20)


def test_config_from_dict_validates_keys_and_types():
    cfg = config_from_dict(_Cfg, {"dim": 4, "lr": 1, "ks": [5]})
    assert cfg == _Cfg(dim=4, lr=1.0, ks=(5,))
    with pytest.raises(ConfigError, match="unknown key.*dimm"):
        config_from_dict(_Cfg, {"dimm": 4}, where="recipe.yaml:models[0]")
    with pytest.raises(ConfigError, match="dim.*integer"):
        config_from_dict(_Cfg, {"dim": "4"})
    with pytest.raises(ConfigError, match="agg.*'sum'"):
        config_from_dict(_Cfg, {"agg": "sum"})


def test_config_hash_is_order_independent():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_registry_refuses_duplicates_and_resolves_paths():
    reg: Registry[type] = Registry("thing")

    @reg.register("x")
    class X:
        pass

    with pytest.raises(ValueError, match="already registered"):
        reg.register("x")(type("Y", (), {}))
    assert reg.get("x") is X
    assert reg.get("collections:OrderedDict").__name__ == "OrderedDict"
    with pytest.raises(UnknownNameError, match="known: x"):
        reg.get("nope")
