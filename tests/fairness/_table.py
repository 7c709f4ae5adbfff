"""A bare user table standing in for a model in attribute-unlearning tests."""

from __future__ import annotations

import torch


class BareTable:
    """A bare user table standing in for a model (no items, no hinge)."""

    def __init__(self, u: torch.Tensor) -> None:
        self.u = torch.nn.Parameter(u.clone())

    def user_table(self) -> torch.nn.Parameter:
        return self.u

    def parameters(self) -> list[torch.nn.Parameter]:
        return [self.u]

    def invalidate(self) -> None:
        pass
