"""ForgetRequest: what to forget, and the data split it applies to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cure4rec.data.interactions import Interactions
from cure4rec.errors import DataError

RequestKind = Literal["users", "interactions", "items", "attribute"]


@dataclass(frozen=True, eq=False)
class ForgetRequest:
    """A deletion request against a train set.

    - ``users``: every train interaction of ``users`` is in ``forget``;
    - ``interactions`` / ``items``: ``forget`` holds individual (user, item) pairs
      (an item-category request is of kind ``items``);
    - ``attribute``: nothing is deleted (``forget`` is empty); the attribute named by
      ``attribute`` must become uninferable for ``users``.

    ``split_id`` and ``sha256`` identify the manifest the request comes from (empty for
    ad-hoc requests such as one element of a request stream).
    """

    kind: RequestKind
    forget: Interactions
    users: np.ndarray
    attribute: str | None = None
    split_id: str = ""
    sha256: str = ""

    def __post_init__(self) -> None:
        u = np.unique(np.asarray(self.users, dtype=np.int64))
        u.setflags(write=False)
        object.__setattr__(self, "users", u)
        if self.kind == "attribute" and not self.attribute:
            raise DataError("an attribute request must name the attribute")
        if self.kind != "attribute" and len(self.forget) == 0:
            raise DataError("the forget set is empty: nothing to unlearn")

    def check_against(self, train: Interactions) -> None:
        """Raise if this request does not apply to `train` (other space, or not a subset)."""
        if not train.same_space(self.forget):
            raise DataError("the forget set is not in the train set's index space")
        if len(self.forget) and not np.all(self.forget.isin(train)):
            missing = int((~self.forget.isin(train)).sum())
            raise DataError(f"{missing} forget interactions are not in the train set")

    def retained_valid(self, valid: Interactions | None) -> Interactions | None:
        """`valid` without the forgotten users' pairs (a user request only): what a model
        retrained after this request may early-stop on."""
        if valid is None or self.kind != "users" or not len(self.users):
            return valid
        mask = valid.users_mask(self.users)
        return valid.subset(~mask, valid.name) if mask.any() else valid

    def retained(self, train: Interactions) -> Interactions:
        """`train` without the forgotten interactions."""
        if len(self.forget) == 0:
            return train
        return train.difference(self.forget, name=f"{train.name}-retain" if train.name else "")
