"""`cure4rec train` writes metrics.json, model.pt and (asked) scores; errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cure4rec.cli import main

DATA = Path("/work/shared/datasets")


@pytest.mark.realdata
@pytest.mark.skipif(not (DATA / "ml-100k").exists(), reason="ml-100k not available")
def test_train_writes_outputs(tmp_path: Path) -> None:
    rc = main(["train", "--dataset", "ml-100k", "--data-dir", str(DATA), "--model", "bpr",
               "--epochs", "2", "--out", str(tmp_path), "--save-scores",
               "--config", '{"dim": 16}'])
    assert rc == 0
    rec = json.loads((tmp_path / "metrics.json").read_text())
    assert rec["mode"] == "standard" and {"ndcg@10", "ndcg@20"} <= set(rec["test"])
    assert rec["epochs"] == 2 and len(rec["split"]["sha256"]) == 64
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (state["n_users"], state["n_items"])
    assert (tmp_path / "train.csv").read_text().startswith("user,item")


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", "--dataset", "synthetic", "--model", "bpr", "--out", str(tmp_path),
               "--config", '{"nope": 1}'])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1
