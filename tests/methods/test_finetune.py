"""Fine-tune resets deleted users' rows to a never-trained user's initial values."""

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.methods.retrain import reset_user_rows
from cure4rec.models.base import ModelSpec
from cure4rec.testing import TOY_MODEL
from cure4rec.testing.toy import toy_interactions


def test_reset_user_rows_matches_fresh_init_and_leaves_others() -> None:
    train, ctx, users = toy_interactions(), RunContext(seed=3), np.array([2, 11, 40])
    spec = ModelSpec("bpr", {"dim": 8, "epochs": 2, "batch_size": 128})
    model = spec.build()
    model.fit(train, None, ctx.child("fit"))
    before = model.user_table().detach().clone()
    reset_user_rows(model, spec, users, train, ctx.child("reinit"))
    fresh = spec.build()
    fresh.setup(train, ctx.child("reinit"))
    after = model.user_table().detach()
    assert torch.equal(after[users], fresh.user_table().detach()[users])
    others = np.setdiff1d(np.arange(train.n_users), users)
    assert torch.equal(after[others], before[others])
    assert not torch.equal(after[users], before[users])


def test_reset_rows_stay_at_init_after_finetune() -> None:
    from cure4rec.testing.conformance import _Run

    run = _Run("finetune", TOY_MODEL, None)
    users = torch.tensor(np.array(run.request.users))
    fresh = ModelSpec(TOY_MODEL).build()
    fresh.setup(run.request.retained(run.train), run.ctx.child("finetune-unlearn").child("reinit"))
    got = run.result.model.user_table()[users]
    assert torch.allclose(got, fresh.user_table()[users])
