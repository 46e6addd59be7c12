"""The global members: one model across all series on the origin features (``features``).

- ``lightgbm``: gradient-boosted trees (LightGBM, Ke et al. 2017) with the L1 objective (the
  conditional median, which minimises MASE), the series' code as a categorical feature;
  deterministic mode, fixed seed, one thread (OpenMP threads on a loaded 2-core machine
  were measured 10x slower than one).
- ``random_forest``: scikit-learn's random forest (Breiman 2001) on the same features without
  the series code (squared error: the conditional mean).
- ``mlp``: a small torch multilayer perceptron (two hidden ReLU layers) on standardised
  features, L1 loss, Adam, one intra-op thread (restored afterwards); seeded through
  ``torch.random.fork_rng`` so the caller's generator is untouched.

Each fits on ``training_rows`` of the history and predicts ``prediction_rows`` at its last day;
a prediction is multiplied back by the series' level and, for non-negative series, clipped at
0. Horizons beyond the longest one in the training rows are predicted as that one (trees do so
by themselves; the MLP's input is clipped), since long horizons have few training origins.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from .features import OriginStats, Rows, prediction_rows, training_rows

GLOBAL_MEMBERS = ("lightgbm", "random_forest", "mlp")
_H = 9  # column of the horizon in Rows.x


@dataclass(frozen=True)
class GlobalSettings:
    window: int = 28
    season: int = 7
    stride: int = 3
    max_rows: int = 50_000
    lightgbm_rounds: int = 120
    forest_trees: int = 40
    mlp_epochs: int = 5
    n_jobs: int = 2


def _lightgbm(train: Rows, pred: Rows, n_series: int, s: GlobalSettings, seed: int) -> np.ndarray:
    import lightgbm as lgb

    params = {"objective": "l1", "learning_rate": 0.08, "max_bin": 63, "num_leaves": 31,
              "min_data_in_leaf": 40, "feature_fraction": 0.9, "deterministic": True,
              "force_row_wise": True, "num_threads": 1, "seed": seed, "verbose": -1,
              "max_cat_to_onehot": 4, "cat_smooth": 10.0}
    x = np.column_stack([train.x, train.series])
    data = lgb.Dataset(x, train.y, categorical_feature=[x.shape[1] - 1], free_raw_data=True)
    model = lgb.train(params, data, num_boost_round=s.lightgbm_rounds)
    return model.predict(np.column_stack([pred.x, pred.series]), num_threads=1)


def _forest(train: Rows, pred: Rows, n_series: int, s: GlobalSettings, seed: int) -> np.ndarray:
    from sklearn.ensemble import RandomForestRegressor

    model = RandomForestRegressor(n_estimators=s.forest_trees, min_samples_leaf=20,
                                  max_features=0.5, max_samples=0.3, max_depth=12,
                                  n_jobs=s.n_jobs, random_state=seed)
    model.fit(train.x, train.y)
    model.set_params(n_jobs=1)  # threads would sum the trees in a varying order
    return model.predict(pred.x)


def _mlp(train: Rows, pred: Rows, n_series: int, s: GlobalSettings, seed: int) -> np.ndarray:
    import torch

    mean, sd = train.x.mean(axis=0), train.x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    px = pred.x.copy()
    px[:, _H] = np.minimum(px[:, _H], train.x[:, _H].max())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_mlp(torch, train, px, mean, sd, s, seed)
    finally:
        torch.set_num_threads(threads)


def _train_mlp(torch, train: Rows, px: np.ndarray, mean, sd, s: GlobalSettings, seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        xt = torch.as_tensor((train.x - mean) / sd, dtype=torch.float32)
        yt = torch.as_tensor(train.y, dtype=torch.float32)
        net = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], 64), torch.nn.ReLU(),
                                  torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                  torch.nn.Linear(64, 1))
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        batch = 1024
        for _ in range(s.mlp_epochs):
            order = torch.randperm(xt.shape[0])
            for start in range(0, xt.shape[0], batch):
                idx = order[start:start + batch]
                opt.zero_grad()
                loss = torch.nn.functional.l1_loss(net(xt[idx]).squeeze(1), yt[idx])
                loss.backward()
                opt.step()
        with torch.no_grad():
            out = net(torch.as_tensor((px - mean) / sd, dtype=torch.float32)).squeeze(1)
    return out.numpy().astype(float)


_FIT = {"lightgbm": _lightgbm, "random_forest": _forest, "mlp": _mlp}


def global_forecasts(history: np.ndarray, horizon: int, members: tuple[str, ...],
                     first_weekday: int, nonnegative: bool, settings: GlobalSettings,
                     seed: int, clock=None) -> dict[str, np.ndarray]:
    """``{member: (series, horizon)}`` forecasts from the history (series x days); NaN rows for
    series without a full window or with a zero level, and for every series when the
    history holds no training row."""
    unknown = set(members) - set(GLOBAL_MEMBERS)
    if unknown:
        raise ValueError(f"unknown global members {sorted(unknown)}; known: {GLOBAL_MEMBERS}")
    n = history.shape[0]
    out = {m: np.full((n, horizon), np.nan) for m in members}
    if not members or history.shape[1] < settings.window + 1:
        return out
    clock = clock or (lambda name: contextlib.nullcontext())
    with clock("features"):
        stats = OriginStats.of(history, settings.window, settings.season, first_weekday)
        train = training_rows(stats, horizon, settings.stride, settings.max_rows,
                              np.random.default_rng(seed))
        pred = prediction_rows(stats, horizon)
    if train.y.size < 100 or pred.series.size == 0:
        return out
    for m in members:
        with clock(m):
            scaled = _FIT[m](train, pred, n, settings, seed)
        values = scaled * pred.level
        if nonnegative:
            values = np.maximum(values, 0.0)
        out[m][pred.series, pred.x[:, _H].astype(int) - 1] = values
    return out
