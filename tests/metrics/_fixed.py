"""A model with a fixed score matrix, shared by the metric tests that need known scores."""

from __future__ import annotations

import numpy as np
import torch


class Fixed:
    """A model with a fixed score matrix."""

    def __init__(self, scores: np.ndarray) -> None:
        self.s = torch.as_tensor(np.asarray(scores, dtype=np.float64))

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users, dtype=np.int64))]
