"""RecBole adapter: any RecBole 1.2.1 general recommender, on our Interactions and indices.

`ModelSpec("recbole", {"model": "LightGCN", "params": {"n_layers": 3}, "epochs": 50})`.
Data goes to RecBole as atomic files in a private temp dir (users/items listed in `.user` /
`.item` files so every index gets a RecBole id); scores are mapped back to our item order.
RecBole 1.2.1 breakages handled here: scipy's removed `dok_matrix._update` (shim), torch ≥2.6
`weights_only` (we load our own checkpoint with `weights_only=False`), `recbole.quick_start`
never imported (ray), per-fit temp cwd and checkpoint dir (TensorBoard writer, checkpoint
names), `sys.argv` hidden from RecBole's Config, global RNG state restored after fitting.

`params` are validated against an allow-list: the keys of the model's own RecBole property
file (`recbole/properties/model/<Model>.yaml`) plus a few training keys (`TRAINING_KEYS`),
minus every key that makes RecBole read or write a file (`DENIED`: paths, checkpoint and
pre-training switches; RecBole `pickle`/`torch.load`s such files, so a recipe naming one
could run code). Values must be plain numbers, booleans, short strings without path
separators, or lists / mappings of those.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import random
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cure4rec.config import config_from_dict, config_to_dict
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.models.base import MODELS, FitResult, Recommender

_NAME = "cure4rec"
TRAINING_KEYS = frozenset({"learner", "weight_decay", "train_neg_sample_args", "clip_grad_norm",
                           "require_pow", "shuffle", "eval_batch_size", "enable_amp",
                           "enable_scaler"})
DENIED = re.compile(r"path|file|dir|pretrain|warm_up|save|load|checkpoint|xgb_model|"
                    r"train_stage|train_method")


@functools.cache
def _property_files() -> dict[str, Path]:
    """RecBole's model property files by lower-case model name (RecBole is not imported)."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("model recbole needs RecBole: pip install recbole==1.2.1")
    folder = Path(next(iter(spec.submodule_search_locations))) / "properties" / "model"
    return {p.stem.lower(): p for p in folder.glob("*.yaml")}


@functools.cache
def allowed_params(model: str) -> frozenset[str]:
    """The `params` keys a recipe may set for RecBole model `model` (see the module doc)."""
    import yaml

    path = _property_files().get(model.lower())
    if path is None:
        raise ConfigError(f"model recbole: unknown RecBole model {model!r}; use a RecBole "
                          "general recommender name, e.g. BPR, LightGCN, NeuMF")
    keys = set((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).keys()) | TRAINING_KEYS
    return frozenset(k for k in keys if not DENIED.search(k))


def _check_value(key: str, value: Any, depth: int = 0) -> None:
    ok_scalar = value is None or isinstance(value, (bool, int, float))
    if isinstance(value, str):
        ok_scalar = len(value) <= 64 and not re.search(r"[/\\]|\.\.", value)
    if ok_scalar:
        return
    if depth < 3 and isinstance(value, (list, tuple)):
        for v in value:
            _check_value(key, v, depth + 1)
        return
    if depth < 3 and isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or DENIED.search(k):
                raise ConfigError(f"model recbole: params.{key}.{k}: key not allowed")
            _check_value(key, v, depth + 1)
        return
    raise ConfigError(f"model recbole: params.{key} = {value!r} is not allowed (plain numbers, "
                      "true/false, short names without '/' and lists/mappings of those)")


def check_params(model: str, params: dict[str, Any]) -> None:
    """ConfigError naming the first key of `params` not on `model`'s allow-list."""
    allowed = allowed_params(model)
    for key in sorted(params, key=str):
        if key not in allowed:
            why = ("RecBole reads or writes files through it"
                   if isinstance(key, str) and DENIED.search(key) else "not a parameter of "
                   f"{model} or a training key")
            raise ConfigError(f"model recbole: params.{key} is not allowed ({why}); allowed for "
                              f"{model}: {', '.join(sorted(allowed))}")
        _check_value(key, params[key])


@dataclass(frozen=True)
class RecBoleConfig:
    """Which RecBole model, its own parameters (`params`), and the training budget."""

    model: str = "BPR"
    params: dict[str, Any] = field(default_factory=dict)
    epochs: int = 100
    batch_size: int = 2048
    lr: float = 1e-3
    patience: int = 10
    eval_every: int = 1
    valid_metric: str = "ndcg@20"
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.eval_every < 1:
            raise ConfigError("epochs, batch_size, patience and eval_every must be >= 1")
        if "@" not in self.valid_metric:
            raise ConfigError(f"valid_metric must look like 'ndcg@20', got {self.valid_metric!r}")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,40}", self.model):
            raise ConfigError(f"model recbole: model {self.model!r} is not a RecBole model name")
        check_params(self.model, self.params)


def install_shims() -> None:
    """Patch scipy ≥1.13 (`dok_matrix._update` removed) for RecBole's graph models."""
    import scipy.sparse as sp

    def _dok_update(self: Any, data: Any) -> None:
        self._dict.update(data)

    for cls in (sp.dok_matrix, getattr(sp, "dok_array", None)):
        if cls is not None and not hasattr(cls, "_update"):
            cls._update = _dok_update


@contextlib.contextmanager
def _isolated(workdir: str) -> Iterator[None]:
    """Temp cwd, hidden argv, quiet warnings and restored global RNG state around RecBole."""
    old_cwd, old_argv = os.getcwd(), sys.argv
    quiet = warnings.catch_warnings()
    quiet.__enter__()
    warnings.simplefilter("ignore", FutureWarning)  # RecBole's pandas/torch.amp deprecations
    states = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
    os.chdir(workdir)
    sys.argv = sys.argv[:1]
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])
        quiet.__exit__(None, None, None)


def _check_general(model: str) -> None:
    """Refuse names that are not RecBole general recommenders (before RecBole guesses)."""
    import pkgutil

    import recbole.model.general_recommender as general

    known = sorted(m.name for m in pkgutil.iter_modules(general.__path__))
    if model.lower() not in known:
        raise ConfigError(f"unknown RecBole general recommender {model!r}; known (module "
                          f"names): {', '.join(known)}")


def _record_curve(trainer: Any) -> dict[str, Any]:
    """Wrap the trainer's per-epoch hooks to record the valid metric and the best epoch."""
    rec: dict[str, Any] = {"rows": {}, "best": 0, "epoch": 0}
    save, train_epoch, valid_epoch = (trainer._save_checkpoint, trainer._train_epoch,
                                      trainer._valid_epoch)

    def _train(train_data: Any, epoch_idx: int, *a: Any, **kw: Any) -> Any:
        rec["epoch"] = epoch_idx
        t, c = time.perf_counter(), time.process_time()
        out = train_epoch(train_data, epoch_idx, *a, **kw)
        rec["rows"][epoch_idx] = {"epoch": float(epoch_idx + 1),
                                  "seconds": time.perf_counter() - t,
                                  "cpu_seconds": time.process_time() - c}
        return out

    def _valid(*a: Any, **kw: Any) -> Any:
        score, result = valid_epoch(*a, **kw)
        rec["rows"].setdefault(rec["epoch"], {})["valid"] = float(score)
        return score, result

    def _save(epoch: int, *a: Any, **kw: Any) -> Any:
        rec["best"] = epoch + 1
        return save(epoch, *a, **kw)

    trainer._train_epoch, trainer._valid_epoch, trainer._save_checkpoint = _train, _valid, _save
    return rec


@MODELS.register("recbole")
class RecBoleModel(Recommender):
    """A RecBole general recommender trained by RecBole's Trainer, scored in our index space."""

    name = "recbole"
    Config = RecBoleConfig

    def __init__(self, config: RecBoleConfig | dict[str, Any] | None = None) -> None:
        self.config = config_from_dict(RecBoleConfig, config, where="model recbole")
        self.model: Any = None
        self._state: dict[str, Any] = {}

    # ------------------------------------------------------------------ building
    def _write(self, root: Path, train: Interactions, valid: Interactions | None) -> None:
        d = root / _NAME
        d.mkdir(parents=True)
        parts = {"train": train, "valid": valid if valid is not None and len(valid) else
                 train.subset(np.arange(1))}
        parts["test"] = parts["valid"]
        for part, inter in parts.items():
            pd.DataFrame({"user_id:token": inter.user, "item_id:token": inter.item}).to_csv(
                d / f"{_NAME}.{part}.inter", sep="\t", index=False)
        pd.DataFrame({"user_id:token": np.arange(train.n_users)}).to_csv(
            d / f"{_NAME}.user", sep="\t", index=False)
        pd.DataFrame({"item_id:token": np.arange(train.n_items)}).to_csv(
            d / f"{_NAME}.item", sep="\t", index=False)

    def _recbole_config(self, root: Path, ctx: RunContext) -> Any:
        from recbole.config import Config

        c = self.config
        _check_general(c.model)
        metric, k = c.valid_metric.split("@")
        check_params(c.model, c.params)  # again: a config may have been built by hand
        values = {**c.params, "data_path": str(root), "checkpoint_dir": str(root / "ckpt"),
                  "benchmark_filename": ["train", "valid", "test"],
                  "load_col": {"inter": ["user_id", "item_id"], "user": ["user_id"],
                               "item": ["item_id"]},
                  "eval_args": {"group_by": "user", "order": "RO", "mode": "full"},
                  "metrics": ["NDCG", "Recall", "Hit", "MRR", "Precision"], "topk": [int(k)],
                  "valid_metric": f"{ {'hr': 'hit'}.get(metric, metric)}@{k}",
                  "epochs": c.epochs, "train_batch_size": c.batch_size, "learning_rate": c.lr,
                  "stopping_step": c.patience, "eval_step": c.eval_every,
                  "device": ctx.device, "use_gpu": ctx.device != "cpu",
                  "show_progress": False, "state": "ERROR", "seed": ctx.derived_seed() % 2**31,
                  "reproducibility": True, "worker": 0, "save_dataset": False,
                  "save_dataloaders": False, "log_wandb": False, "dataset_save_path": None,
                  "dataloaders_save_path": None}
        try:
            return Config(model=c.model, dataset=_NAME, config_dict=values)
        except (ValueError, KeyError, AttributeError) as exc:
            raise ConfigError(f"RecBole model {c.model!r} could not be configured: {exc}") from exc

    def _prepare(self, root: Path, train: Interactions, valid: Interactions | None,
                 ctx: RunContext) -> tuple[Any, Any, Any]:
        from recbole.data import create_dataset, data_preparation
        from recbole.utils import get_model, init_seed

        install_shims()
        self._write(root, train, valid)
        config = self._recbole_config(root, ctx)
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train_data, valid_data, _ = data_preparation(config, dataset)
        self._map_ids(dataset, train.n_users, train.n_items)
        self.model = get_model(config["model"])(config, train_data.dataset).to(config["device"])
        return config, train_data, valid_data

    def _map_ids(self, dataset: Any, n_users: int, n_items: int) -> None:
        uid = np.asarray(dataset.field2id_token[dataset.uid_field][1:]).astype(np.int64)
        iid = np.asarray(dataset.field2id_token[dataset.iid_field][1:]).astype(np.int64)
        self.n_users, self.n_items = n_users, n_items
        self._uid_of = np.zeros(n_users, dtype=np.int64)
        self._uid_of[uid] = np.arange(1, len(uid) + 1)
        self._iid_of = np.zeros(n_items, dtype=np.int64)
        self._iid_of[iid] = np.arange(1, len(iid) + 1)

    # ------------------------------------------------------------------ Recommender
    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext, *,
            regularizers: Sequence[Any] = ()) -> FitResult:
        """Train with RecBole's Trainer, early-stopping on `valid`, keeping the best epoch.

        `regularizers` is accepted as for every model (methods pass their training
        regularisers to each fit); RecBole's Trainer cannot take extra loss terms, so a
        non-empty sequence is a ConfigError rather than silently ignored."""
        from recbole.utils import get_trainer

        if regularizers:
            raise ConfigError("model recbole: training regularisers (e.g. fairness.ucds) "
                              "cannot be added to RecBole's Trainer; use a cure4rec model "
                              "(bpr, lightgcn, ...) for regularised training")

        t0 = time.perf_counter()
        self._state = {"train_user": train.user.copy(), "train_item": train.item.copy(),
                       "seed": ctx.seed, "path": list(ctx.path)}
        threads = ctx if ctx.threads or not self.config.threads else \
            RunContext(threads=self.config.threads)
        with tempfile.TemporaryDirectory(prefix="cure4rec-recbole-") as tmp, \
                _isolated(tmp), threads.torch_threads():
            config, train_data, valid_data = self._prepare(Path(tmp), train, valid, ctx)
            trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, self.model)
            try:
                curve = _record_curve(trainer)
                best, _ = trainer.fit(train_data, valid_data if valid is not None else None,
                                      verbose=False, saved=True, show_progress=False)
                if os.path.exists(trainer.saved_model_file):
                    ck = torch.load(trainer.saved_model_file, map_location="cpu",
                                    weights_only=False)  # our own checkpoint, just written
                    self.model.load_state_dict(ck["state_dict"])
                    self.model.load_other_parameter(ck.get("other_parameter"))
            finally:  # flush and stop TensorBoard's writer thread before its folder goes
                writer = getattr(trainer, "tensorboard", None)
                if writer is not None:
                    writer.close()
        self.model.eval()
        rows = curve["rows"]
        for e, v in sorted(trainer.train_loss_dict.items()):
            rows.setdefault(e, {"epoch": float(e + 1)})["loss"] = float(np.sum(v))
        epochs = len(trainer.train_loss_dict)
        return FitResult(epochs=epochs, best_epoch=curve["best"] or epochs,
                         seconds=time.perf_counter() - t0,
                         valid_metric=self.config.valid_metric if valid is not None else "",
                         best_valid=float(best) if valid is not None else None,
                         curve=[rows[e] for e in sorted(rows)])

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Scores `[len(users), n_items]` in our item order (float32, CPU)."""
        from recbole.data.interaction import Interaction

        if self.model is None:
            raise RuntimeError("recbole model is not fitted")
        u = self._uid_of[np.asarray(users, dtype=np.int64)]
        dev = next(self.model.parameters()).device if any(True for _ in self.model.parameters()) \
            else torch.device("cpu")
        out = []
        with torch.no_grad():
            for chunk in np.array_split(u, max(1, int(np.ceil(len(u) / 64)))):
                s = self._full_sort(Interaction, chunk, dev)
                out.append(s[:, torch.from_numpy(self._iid_of).to(s.device)].float().cpu())
        return torch.cat(out) if out else torch.zeros(0, self.n_items)

    def _full_sort(self, interaction: Any, uids: np.ndarray, dev: torch.device) -> torch.Tensor:
        """RecBole scores `[len(uids), item_num]`; pairwise `predict` where no full sort exists."""
        try:
            inter = interaction({"user_id": torch.from_numpy(uids)}).to(dev)
            return self.model.full_sort_predict(inter).reshape(len(uids), -1)
        except NotImplementedError:  # e.g. NeuMF: score every (user, item) pair
            n = self.model.n_items
            pairs = interaction({"user_id": torch.from_numpy(np.repeat(uids, n)),
                                 "item_id": torch.arange(n).repeat(len(uids))}).to(dev)
            return self.model.predict(pairs).reshape(len(uids), n)

    def state_dict(self) -> dict[str, Any]:
        """RecBole module tensors, our id maps, the train pairs (to rebuild the model)."""
        return {"model": self.name, "config": json.dumps(config_to_dict(self.config)),
                "n_users": self.n_users, "n_items": self.n_items,
                "params": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
                "train_user": torch.from_numpy(self._state["train_user"]),
                "train_item": torch.from_numpy(self._state["train_item"]),
                "seed": int(self._state["seed"])}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild the RecBole model on the stored train pairs, then load its tensors."""
        self.config = config_from_dict(RecBoleConfig, json.loads(state["config"]))
        train = Interactions.from_pairs(state["train_user"].numpy(), state["train_item"].numpy(),
                                        int(state["n_users"]), int(state["n_items"]))
        self._state = {"train_user": train.user.copy(), "train_item": train.item.copy(),
                       "seed": int(state["seed"])}
        ctx = RunContext(seed=int(state["seed"]))
        with tempfile.TemporaryDirectory(prefix="cure4rec-recbole-") as tmp, _isolated(tmp):
            self._prepare(Path(tmp), train, None, ctx)
        self.model.load_state_dict(state["params"])
        self.model.eval()
