"""`cure4rec train`: fit one model on a dataset split; write metrics.json and model.pt."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cure4rec.errors import ConfigError

KS = (10, 20)


def register(subparsers: Any) -> None:
    """Add the `train` command."""
    p = subparsers.add_parser("train", help="train one recommender and report its utility")
    p.add_argument("--dataset", required=True, help="dataset card name or directory")
    p.add_argument("--data-dir", help="directory holding the data (default: the cache)")
    p.add_argument("--model", default="bpr", help="registered model name (default bpr)")
    p.add_argument("--seed", type=int, default=0, help="split and training seed")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), cuda, cuda:N or auto (cuda if available, else cpu)")
    p.add_argument("--save-scores", action="store_true",
                   help="also write scores.npy (users x items), train.csv and test.csv")
    p.add_argument("--epochs", type=int, help="override the configured number of epochs")
    p.add_argument("--config", default="{}", help="model config as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    p.set_defaults(func=run)


def _atomic(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Write through a temp file in the same directory, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _output_dir(text: str) -> Path:
    """The --out folder, created and checked writable before any training."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a folder (it will hold metrics.json "
                          "and model.pt)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".tmp-{os.getpid()}-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {out}: not writable ({exc.strerror or exc}); pass another "
                          "folder") from exc
    return out


def _model_config(text: str, epochs: int | None) -> dict[str, Any]:
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(cfg, dict):
        raise ConfigError(f"--config must be a JSON object, got {text!r}")
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {epochs}")
        cfg["epochs"] = epochs
    return cfg


def run(args: argparse.Namespace) -> int:
    """Load, split, fit, evaluate on valid and test, write the outputs."""
    from cure4rec.context import resolve_device
    from cure4rec.models.base import ModelSpec

    args.device = resolve_device(args.device, "--device")
    model = ModelSpec(args.model, _model_config(args.config, args.epochs)).build()
    created = not Path(args.out).exists()
    out = _output_dir(args.out)
    try:
        return _train(args, model, out)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # nothing partial: the folder this run made goes if it failed
        raise


def _train(args: argparse.Namespace, model: Any, out: Path) -> int:
    import torch

    from cure4rec.context import RunContext
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.metrics.ranking import evaluate_ranking

    quiet = getattr(args, "quiet", False)
    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    split = split_dataset(ds, seed=args.seed)
    if not quiet:
        print(f"training {args.model} on {ds.name}: {split.train.n_users} users, "
              f"{split.train.n_items} items, {len(split.train)} train interactions ...",
              file=sys.stderr, flush=True)
    ctx = RunContext(seed=args.seed, device=args.device, progress=not quiet)
    fit = model.fit(split.train, split.valid, ctx)
    test = evaluate_ranking(model, split.train, split.test, ks=KS)
    valid = evaluate_ranking(model, split.train, split.valid, ks=KS)
    record = {"dataset": {"name": ds.name, "version": ds.version, "sha256": ds.sha256},
              "split": {"protocol": split.protocol, "sha256": split.sha256},
              "model": {"name": args.model, "config": json.loads(args.config or "{}")},
              "seed": args.seed, "device": args.device, "mode": test.mode,
              "test": _rounded(test.means()), "valid": _rounded(valid.means()),
              "epochs": fit.epochs, "best_epoch": fit.best_epoch,
              "seconds": round(fit.seconds, 3), "valid_metric": fit.valid_metric}
    _atomic(out / "metrics.json", lambda fh: fh.write(json.dumps(record, indent=2) + "\n"), "w")
    _atomic(out / "model.pt", lambda fh: torch.save(model.state_dict(), fh))
    if args.save_scores:
        _atomic(out / "scores.npy", partial(_write_scores, model))
        for name, part in (("train", split.train), ("test", split.test)):
            frame = part.to_frame()[["user", "item"]]
            _atomic(out / f"{name}.csv", partial(_write_csv, frame), "w")
    print(f"{args.model} on {ds.name}: test ndcg@20 {test.mean('ndcg@20'):.4f} "
          f"recall@20 {test.mean('recall@20'):.4f} ({test.mode}); best epoch {fit.best_epoch}"
          f"/{fit.epochs}, {fit.seconds:.1f}s -> {out}")
    return 0


def _write_scores(model: Any, fh: Any, batch_users: int = 1024) -> None:
    """`scores.npy` (float32, users × items) written batch by batch: the same bytes as
    `np.save` of the whole matrix, which is never held in memory."""
    import numpy as np

    n_users, n_items = int(model.n_users), int(model.n_items)
    np.lib.format.write_array_header_1_0(
        fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
             "fortran_order": False, "shape": (n_users, n_items)})
    for start in range(0, n_users, batch_users):
        users = np.arange(start, min(start + batch_users, n_users))
        fh.write(model.score(users).detach().cpu().numpy().astype(np.float32).tobytes())


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in d.items()}


def _write_csv(frame: Any, fh: Any) -> None:
    frame.to_csv(fh, index=False)
