"""On-disk cache of trained reference models, keyed by a content hash of what made them.

The original model (trained on the full train set) and the retrain-from-scratch references
are shared by every method cell of the same forget split, model, seed and regularisers. They
are stored as `state_dict` tensors (`<cache>/<hash>.pt`, loaded with `weights_only=True`)
together with the training time, so a cell that reuses one still reports its retrain cost.

Pool workers share the folder: an entry is looked up, trained and stored under an exclusive
`flock` on `<hash>.lock`, so two workers that need the same model at the same time (the
first cells of a group start together) train it once — the second waits and loads it.
`cached_models` fetches a group's models (the original and the N references) passing over
the entries another worker is training right now and coming back to them last, so two
workers that start the same group train different references at the same time instead
of one training all N while the other waits (measured: docs/benchmarks.md).

Learned states of methods that can store theirs (`learned_blob`: the sharded methods' K
sub-models, checkpoints, partition and aggregator) are cached the same way
(`<hash>.learn.pt`, `cached_state`): the core / random / edge cells of one data split learn
the same state from the same train and validation sets, and now learn it once.

The evaluator's attack shadows (`cure4rec.metrics.mia.fit_shadow`: plain fits of the cell's
model on data the forget split fixes) go through the same cache (`cached_shadow_fit`), so
the workers of a run, and a resumed run, fit each shadow once instead of once per process.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from cure4rec.config import config_hash
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.efficiency import Timing, measure
from cure4rec.metrics.mia import ShadowFit, fit_shadow
from cure4rec.models.base import ModelSpec, Recommender
from cure4rec.runner.records import temp_prefix

log = logging.getLogger(__name__)


def model_key(role: str, split_sha256: str, model: dict[str, Any], seed: int,
              fairness: dict[str, Any], device: str = "cpu") -> str:
    """Content hash of a reference model: forget-split hash, model config, seed, regularisers
    (and the device, when not the CPU: GPU kernels round differently, so their models are
    not the CPU's; CPU keys are unchanged)."""
    what: dict[str, Any] = {"role": role, "split": split_sha256, "model": model, "seed": seed,
                            "fairness": fairness}
    if device != "cpu":
        what["device"] = device
    return config_hash(what, 24)


def _save(path: Path, model: Recommender, timing: Timing) -> None:
    _save_blob(path, {"state": model.state_dict(), "timing": timing.as_dict()})


def _load(path: Path, spec: ModelSpec, device: str = "cpu"
          ) -> tuple[Recommender, Timing] | None:
    try:
        blob = torch.load(path, weights_only=True, map_location="cpu")
        model = spec.build()
        model.load_state_dict(blob["state"])
        return to_device(model, device), Timing(**blob["timing"])
    except Exception as exc:  # a corrupt or stale entry is retrained, not fatal
        log.warning("cache entry %s unusable (%s); retraining", path, exc)
        return None


def to_device(model: Recommender, device: str) -> Recommender:
    """`model` with its torch parameters on `device` (models without `net` are left as is)."""
    net = getattr(model, "net", None)
    if device != "cpu" and isinstance(net, torch.nn.Module):
        net.to(device)
        getattr(model, "invalidate", lambda: None)()
    return model


@contextmanager
def _entry_lock(path: Path | None, blocking: bool = True) -> Iterator[bool]:
    """Exclusive `flock` on `<entry>.lock` (released by the OS if the holder dies); yields
    whether it is held (False only when not `blocking` and another holder has it)."""
    if path is None:
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


#: one model to fetch: (cache key, how to build it, how to train it)
ModelJob = tuple[str, ModelSpec, Callable[[], Recommender]]


def _cached_model(cache_dir: str | os.PathLike[str] | None, job: ModelJob, device: str,
                  blocking: bool) -> tuple[Recommender, Timing] | None:
    key, spec, train = job
    path = Path(cache_dir) / f"{key}.pt" if cache_dir else None
    with _entry_lock(path, blocking) as held:
        if not held:
            return None
        if path is not None and path.is_file():
            hit = _load(path, spec, device)
            if hit is not None:
                log.info("reusing cached model %s", path.name)
                return hit
        with measure() as t:
            model = train()
        if path is not None:
            _save(path, model, t)
    return model, t


def cached_model(cache_dir: str | os.PathLike[str] | None, key: str, spec: ModelSpec,
                 train: Callable[[], Recommender], device: str = "cpu"
                 ) -> tuple[Recommender, Timing]:
    """Load the model stored under `key`, or train it with `train()` and store it (under
    the entry's lock: concurrent callers train it once)."""
    got = _cached_model(cache_dir, (key, spec, train), device, blocking=True)
    assert got is not None  # a blocking lock is always held
    return got


def cached_models(cache_dir: str | os.PathLike[str] | None, jobs: Sequence[ModelJob],
                  device: str = "cpu") -> list[tuple[Recommender, Timing]]:
    """`cached_model` of every job, returned in the jobs' order.

    A first pass takes every entry no other process holds (loading or training it); the
    entries held elsewhere — being trained by another worker — are waited for and loaded
    in a second pass. Each model is trained from its own job alone (its own seed path),
    so which worker trains it, and in which order, does not change it.
    """
    out = [_cached_model(cache_dir, job, device, blocking=False) for job in jobs]
    return [got if got is not None else cached_model(cache_dir, *job, device)
            for got, job in zip(out, jobs)]


def cached_state(cache_dir: str | os.PathLike[str] | None, key: str, method: Any,
                 train: Any, ctx: Any, learn: Callable[[], Any], device: str = "cpu") -> Any:
    """The method's learned state stored under `key`, or `learn()` (stored when the method
    can store it: `method.learned_blob(state)` not None), with the learn timing it had."""
    dump = getattr(method, "learned_blob", None)
    if not cache_dir or dump is None:
        return learn()
    path = Path(cache_dir) / f"{key}.learn.pt"
    with _entry_lock(path):
        if path.is_file():
            try:
                blob = torch.load(path, weights_only=True, map_location="cpu")
                state = method.state_from_blob(blob["state"], train, ctx)
                state.timing = Timing(**blob["timing"])
                for m in getattr(state.model, "models", ()):
                    to_device(m, device)
                log.info("reusing cached learned state %s", path.name)
                return state
            except Exception as exc:  # a corrupt or stale entry is learned again
                log.warning("cache entry %s unusable (%s); learning again", path, exc)
        state = learn()
        blob = dump(state)
        if blob is not None:
            _save_blob(path, {"state": blob, "timing": state.timing.as_dict()})
    return state


def _save_blob(path: Path, blob: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(), suffix=".pt")
    os.close(fd)
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_shadow_fit(cache_dir: str | os.PathLike[str] | None, model: dict[str, Any],
                      seed: int, fairness: dict[str, Any], device: str = "cpu") -> ShadowFit:
    """`fit_shadow` through the model cache, for shadows of the model `model` (name, config).

    A shadow's key: its train and validation sets' content hashes, its context's seed and
    path (which shadow of which cell seed), the epoch override, the model config, the cell
    seed and regularisers. The template must be a `model` (the evaluator's template is the
    group's first reference; the unlearning shadow's, the user-level shadow).
    """
    mspec = ModelSpec(model["name"], model["config"])

    def fit(template: object, data: Interactions, valid: Interactions | None, ctx: Any,
            epochs: int | None = None) -> object:
        what = {"train": data.content_sha256(),
                "valid": None if valid is None else valid.content_sha256(),
                "seed": ctx.seed, "path": list(ctx.path), "epochs": epochs}
        key = model_key("mia-shadow", config_hash(what, 24), model, seed, fairness, device)
        return cached_model(cache_dir, key, mspec,
                            lambda: fit_shadow(template, data, valid, ctx, epochs),  # type: ignore[arg-type, return-value]
                            device)[0]

    return fit
