"""In-UCDS dominant sets and the fairness regulariser."""

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.fairness.ucds import UcdsConfig, dominant_sets, ucds_regularizer
from cure4rec.metrics.fairness import activity_groups


def _toy(n_users: int = 60, n_items: int = 30, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    deg = np.maximum(2, (rng.pareto(1.2, n_users) * 4).astype(int)).clip(max=n_items)
    users = np.repeat(np.arange(n_users), deg)
    items = np.concatenate([rng.choice(n_items, d, replace=False) for d in deg])
    return Interactions(users, items, n_users, n_items)


def test_paper_faithful_weights_on_simplex_and_alpha_above_lambda_max() -> None:
    train = _toy()
    sets = dominant_sets(train, UcdsConfig(fraction=0.1))
    w = sets.weights
    assert w.shape == (len(sets.users), len(sets.advantaged))
    assert (w >= 0).all()
    nonempty = w.sum(1) > 0
    assert np.allclose(w.sum(1)[nonempty], 1.0)
    assert not np.isin(sets.users, sets.advantaged).any()   # t is never in its returned set
    x = train.csr()[sets.advantaged]
    s_aa = (x @ x.T).toarray()
    np.fill_diagonal(s_aa, 0)
    scale = np.maximum((train.csr()[sets.users] @ x.T).toarray().max(1), s_aa.max())
    lam = np.linalg.eigvalsh(s_aa / scale[:, None, None]).max(1)
    assert (sets.alpha > lam).all()


def test_constraint_keeps_t_in_support() -> None:
    """With α > λ_max the replicator solution's support contains t (constraint theorem)."""
    from cure4rec.fairness import ucds

    train = _toy(seed=1)
    cfg = UcdsConfig(fraction=0.1)
    active = activity_groups(train, cfg.fraction)
    adv, dis = np.flatnonzero(active), np.flatnonzero(~active)
    s_da, s_aa = ucds._blocks(train, adv, dis)
    scale = torch.maximum(s_da.max(1, keepdim=True).values, s_aa.max()).clamp_min(1.0)
    alpha = cfg.alpha_coef * float(torch.linalg.eigvalsh(s_aa).max()) / scale
    x, _, _, _ = ucds._replicator(s_da, s_aa, scale, alpha, cfg)
    assert (x[:, 0] > cfg.support_tol).all()
    assert torch.allclose(x.sum(1), torch.ones(len(x), dtype=x.dtype))


def test_code_faithful_top3_unweighted() -> None:
    sets = dominant_sets(_toy(), UcdsConfig(mode="code-faithful", fraction=0.1))
    assert set(np.unique(sets.weights)) <= {0.0, 1.0}
    assert (sets.weights.sum(1) == 3).all()
    assert np.allclose(sets.alpha, 1.1e-3)


def test_regularizer_pulls_only_batch_disadvantaged_users() -> None:
    train = _toy()
    reg = ucds_regularizer(weight=1.0, fraction=0.1)(train, RunContext(seed=0))

    class Model:
        table = torch.nn.Parameter(torch.randn(train.n_users, 4))

        def user_table(self) -> torch.nn.Parameter:
            return self.table

    class Batch:
        users = torch.tensor([int(reg.sets.users[0]), int(reg.sets.advantaged[0])])

    m = Model()
    loss = reg(m, Batch())
    loss.backward()
    moved = torch.nonzero(m.table.grad.abs().sum(1)).flatten().tolist()
    assert moved == [int(reg.sets.users[0])] and loss.item() > 0
    assert "paper-faithful" in ucds_regularizer().name


def test_convergence_is_recorded_and_max_iter_reports_the_residual(caplog) -> None:  # type: ignore[no-untyped-def]
    train = _toy(seed=1)
    full = dominant_sets(train, UcdsConfig(fraction=0.1, polish=False))
    assert full.converged and full.residual < 1e-6 and full.iterations < 50000
    with caplog.at_level("WARNING", logger="cure4rec.fairness.ucds"):
        short = dominant_sets(train, UcdsConfig(fraction=0.1, max_iter=2, polish=False))
    assert short.iterations == 2 and not short.converged and short.residual > 1e-6
    assert short.kkt_residual > 1e-6 and short.polished == 0
    assert "not converged" in caplog.text
    exact = dominant_sets(train, UcdsConfig(fraction=0.1))
    assert exact.converged and exact.polished == len(exact.users)
    assert exact.kkt_residual < 1e-9
    # one row's exact solve rejected (support_tol 0 keeps a member at x ≈ 1e-65 on the
    # support, and the KKT point there is no strict maximum): reported, not papered over
    caplog.clear()
    with caplog.at_level("WARNING", logger="cure4rec.fairness.ucds"):
        part = dominant_sets(_toy(n_users=14, n_items=40, seed=2),
                             UcdsConfig(fraction=0.3, neighbors=0, support_tol=0.0,
                                        alpha_coef=1.01, max_iter=3000))
    assert not part.converged and 0 < part.polished < len(part.users)
    assert part.kkt_residual > 1e-6 and "rows solved exactly" in caplog.text


def _brute_force_maxima(b: np.ndarray) -> list[np.ndarray]:
    """Every strict local maximum of xᵀBx on the simplex, by enumerating supports."""
    n, found = len(b), []
    for mask in range(1, 2 ** n):
        s = np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)
        k = np.zeros((s.sum() + 1, s.sum() + 1))
        k[:-1, :-1], k[:-1, -1], k[-1, :-1] = b[np.ix_(s, s)], -1.0, 1.0
        try:
            sol = np.linalg.solve(k, np.r_[np.zeros(s.sum()), 1.0])
        except np.linalg.LinAlgError:
            continue
        x = np.zeros(n)
        x[s] = sol[:-1]
        g = b @ x
        if (x[s] <= 1e-12).any() or (g[~s] - x @ g > 1e-10).any():
            continue
        z = np.linalg.svd(np.ones((1, s.sum())))[2][1:].T   # basis of {1ᵀd = 0} on S
        if s.sum() == 1 or np.linalg.eigvalsh(z.T @ b[np.ix_(s, s)] @ z).max() < 0:
            found.append(x)
    return found


@pytest.mark.parametrize(("seed", "n_items", "coef"), [(3, 10, 1.1), (8, 40, 1.01)])
def test_fixed_point_matches_brute_force_on_a_tiny_graph(seed: int, n_items: int,
                                                         coef: float) -> None:
    """Independent of the module: affinities from Python sets, every support enumerated.
    The second case has rows whose maximum drops advantaged users (support < |V|)."""
    train = _toy(n_users=14, n_items=n_items, seed=seed)
    cfg = UcdsConfig(fraction=0.3, neighbors=0, support_tol=0.0, alpha_coef=coef)
    sets = dominant_sets(train, cfg)
    raw = dominant_sets(train, UcdsConfig(fraction=0.3, neighbors=0, support_tol=0.0,
                                          alpha_coef=coef, polish=False, tol=1e-13,
                                          max_iter=400000))
    assert sets.converged and 3 <= len(sets.advantaged) <= 6
    x = train.csr()
    items = [set(x[u].indices.tolist()) for u in range(train.n_users)]
    adv = list(sets.advantaged)
    c_aa = np.array([[0 if u == v else len(items[u] & items[v]) for v in adv] for u in adv])
    alpha0 = cfg.alpha_coef * np.linalg.eigvalsh(c_aa).max()
    for r, t in enumerate(sets.users):
        c = np.zeros((len(adv) + 1, len(adv) + 1))
        c[1:, 1:] = c_aa
        c[0, 1:] = c[1:, 0] = [len(items[t] & items[v]) for v in adv]
        scale = max(c.max(), 1.0)
        b = c / scale - alpha0 / scale * np.diag(np.r_[0.0, np.ones(len(adv))])
        maxima = _brute_force_maxima(b)
        assert maxima, "no strict local maximum found"
        dist = [np.abs(m[1:] / m[1:].sum() - sets.weights[r]).max() for m in maxima]
        assert min(dist) < 1e-9                     # the exact solve is a brute-force maximum
        assert np.abs(raw.weights[r] - sets.weights[r]).max() < 1e-4   # and the replicator's


def test_pair_weight_normalisation_per_user_or_per_pair() -> None:
    train = _toy()
    user = dominant_sets(train, UcdsConfig(fraction=0.1))
    unit = dominant_sets(train, UcdsConfig(fraction=0.1, pair_weights="unit"))
    assert np.allclose(user.weights.sum(1), 1.0)
    assert np.array_equal(unit.weights > 0, user.weights > 0)
    assert set(np.unique(unit.weights)) <= {0.0, 1.0}
    code_user = dominant_sets(train, UcdsConfig(mode="code-faithful", fraction=0.1,
                                                pair_weights="user"))
    assert np.allclose(code_user.weights.sum(1), 1.0)
    with pytest.raises(ConfigError):
        UcdsConfig(pair_weights="pair")


def test_exact_solve_in_row_chunks_is_the_same(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cure4rec.fairness import ucds

    train = _toy()
    whole = dominant_sets(train, UcdsConfig(fraction=0.1))
    monkeypatch.setattr(ucds, "_POLISH_ENTRIES", 7 * 7.0 ** 2)   # chunks of a few rows
    chunked = dominant_sets(train, UcdsConfig(fraction=0.1))
    assert np.array_equal(whole.weights, chunked.weights) and chunked.converged
