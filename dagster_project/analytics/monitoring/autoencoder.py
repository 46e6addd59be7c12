"""A small torch autoencoder over the system-metric vectors, scored by reconstruction error.

Architecture d -> 8 -> 2 -> 8 -> d (tanh), trained with Adam on mean squared reconstruction
error; the raw score of a vector is its squared error, calibrated against the training errors
(``calibration.empirical_score``). CPU only and deterministic for a seed: the weights, the
batch order and every torch random draw come from generators seeded by ``seed``, and training
runs single-threaded inside ``_single_thread``. Reference: Sakurada & Yairi (2014), anomaly
detection with autoencoders by reconstruction error.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from .calibration import empirical_score


def _network(d: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(d, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2),
                               torch.nn.Tanh(), torch.nn.Linear(2, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, d))


@contextlib.contextmanager
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class AutoencoderModel:
    state: dict
    dims: int
    train_scores: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, seed: int, epochs: int = 20, batch: int = 256,
            lr: float = 0.01) -> AutoencoderModel:
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError("x must be a 2-d array with at least 2 rows")
        with _single_thread():
            torch.manual_seed(seed)
            net = _network(x.shape[1])
            opt = torch.optim.Adam(net.parameters(), lr=lr)
            data = torch.as_tensor(x, dtype=torch.float32)
            order = torch.Generator().manual_seed(seed)
            for _ in range(epochs):
                for idx in torch.randperm(len(data), generator=order).split(batch):
                    opt.zero_grad()
                    loss = torch.mean((net(data[idx]) - data[idx]) ** 2)
                    loss.backward()
                    opt.step()
            model = cls({k: v.clone() for k, v in net.state_dict().items()}, x.shape[1],
                        np.empty(0))
            model.train_scores = model.raw(x)
        return model

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Squared reconstruction error per row."""
        net = _network(self.dims)
        net.load_state_dict(self.state)
        with torch.no_grad():
            data = torch.as_tensor(x, dtype=torch.float32)
            return torch.sum((net(data) - data) ** 2, dim=1).numpy().astype(float)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Calibrated scores in [0, 1] of the rows of ``x``."""
        return empirical_score(self.train_scores, self.raw(x))
