"""ForgetSplit: a citable forget/retain/holdout manifest with a content sha256.

On disk a manifest is a directory of sorted CSV files (user and item *indices*, plus the
token maps that make them self-contained) and `card.json`. The sha256 is computed from the
contents (sorted int64 pair keys of each set, bytes of the small files), so the in-memory
object and the saved directory agree, and `load` re-computes it from the parsed files.
Ratings and timestamps are not part of a manifest.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cure4rec.data.interactions import Interactions
from cure4rec.data.split import DatasetRef
from cure4rec.errors import DataError, IntegrityError
from cure4rec.forget.request import ForgetRequest

PARTS = ("forget", "retain", "valid", "test", "holdout_valid", "holdout_test")


@dataclass(frozen=True, eq=False)
class ForgetSplit:
    """Train/retain/forget/valid/test/holdout sets of one forget request, with identity."""

    split_id: str
    dataset: DatasetRef
    request: ForgetRequest
    train: Interactions
    retain: Interactions
    valid: Interactions
    test: Interactions
    holdout_valid: Interactions
    holdout_test: Interactions
    card: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""

    @property
    def forget(self) -> Interactions:
        """The forgotten train interactions (empty for attribute requests)."""
        return self.request.forget

    @functools.cached_property
    def full_valid(self) -> Interactions:
        """The data split's whole validation set: `valid` plus the forgotten users' held-out
        validation pairs, in canonical (user, item) order.

        What the original model and a method's `learn` early-stop on: they are trained
        before any forget request exists, so they must not depend on which strategy's
        request the cell carries (the original is cached by the train set's hash and shared
        by the core / random / edge cells of one data split). Unlearning and retraining on
        the retained data use `valid`, which has no forgotten user's pair.
        """
        if not len(self.holdout_valid):
            return self.valid.sorted()
        return self.valid.concat(self.holdout_valid, name="valid").sorted()

    def files(self) -> dict[str, bytes]:
        """The manifest's files (name -> bytes), card.json excluded."""
        out = {f"{p}.csv": _pairs_csv(self._part(p)) for p in PARTS}
        out.update(self._small_files())
        return out

    def _small_files(self) -> dict[str, bytes]:
        out = {"forget_users.csv": _frame_csv(pd.DataFrame({"user": self.request.users}))}
        t = self.train
        out["user_tokens.csv"] = _frame_csv(pd.DataFrame({"token": t.user_tokens}))
        out["item_tokens.csv"] = _frame_csv(pd.DataFrame({"token": t.item_tokens}))
        if t.user_attributes is not None:
            out["user_attributes.csv"] = _frame_csv(t.user_attributes)
        req = {"kind": self.request.kind, "attribute": self.request.attribute,
               "split_id": self.split_id, "dataset": vars(self.dataset)}
        out["request.json"] = json.dumps(req, sort_keys=True).encode()
        return out

    def digests(self) -> dict[str, str]:
        """Content sha256 of every manifest file: pair files hash their sorted int64 pairs
        (so no CSV needs writing to identify a split), small files their bytes."""
        out = {f"{p}.csv": _pairs_digest(self._part(p)) for p in PARTS}
        out.update({n: hashlib.sha256(b).hexdigest() for n, b in self._small_files().items()})
        return out

    def _part(self, name: str) -> Interactions:
        return self.forget if name == "forget" else getattr(self, name)

    def with_hash(self) -> ForgetSplit:
        """This split with `sha256` (and the card's hash fields) computed from its contents."""
        digests = self.digests()
        digest = combine_digests(digests)
        card = {**self.card, "split_id": self.split_id, "sha256": digest,
                "files": dict(sorted(digests.items()))}
        req = replace(self.request, split_id=self.split_id, sha256=digest)
        return replace(self, sha256=digest, card=card, request=req)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the manifest atomically (temp dir + rename); an identical one is kept."""
        target = Path(directory)
        if (target / "card.json").is_file():
            old = json.loads((target / "card.json").read_text())
            if old.get("sha256") == self.sha256:
                return target
            raise DataError(f"{target}: holds another forget split ({old.get('split_id')}); "
                            "remove it or choose another --out")
        if target.exists() and any(target.iterdir()):
            raise DataError(f"{target}: directory exists and is not empty; choose another --out")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            for name, data in self.files().items():
                (tmp / name).write_bytes(data)
            (tmp / "card.json").write_text(json.dumps(self.card, indent=2, sort_keys=True))
            if target.exists():
                target.rmdir()
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ForgetSplit:
        """Read a saved manifest, verifying its sha256 (IntegrityError on mismatch)."""
        d = Path(directory)
        if not (d / "card.json").is_file():
            raise DataError(f"{d}: not a forget split (no card.json); make one with "
                            "`cure4rec split make --out DIR`")
        card = json.loads((d / "card.json").read_text())
        names = sorted(card.get("files") or {})
        missing = [n for n in names if not (d / n).is_file()]
        if missing:
            raise DataError(f"{d}: missing manifest file(s) {', '.join(missing)}")
        files = {n: (d / n).read_bytes() for n in names}
        fs = _from_files(files, card)
        digests = fs.digests()
        digest = combine_digests(digests)
        if digest != card.get("sha256") or digests != card["files"]:
            bad = [n for n in names if digests.get(n) != card["files"][n]]
            raise IntegrityError(f"{d}: sha256 mismatch (card {card.get('sha256')}, files "
                                 f"{digest}); changed: {', '.join(bad) or 'card.json'}")
        return fs


def combine_digests(digests: dict[str, str]) -> str:
    """The manifest sha256: sha256 over (name, content sha256) of every file, in name order."""
    h = hashlib.sha256()
    for name in sorted(digests):
        h.update(f"{name}\0{digests[name]}\n".encode())
    return h.hexdigest()


def _pairs_digest(inter: Interactions) -> str:
    keys = np.sort(inter.keys)
    h = hashlib.sha256(f"pairs-v1 {inter.n_items} {len(keys)}\n".encode())
    h.update(keys.astype("<i8").tobytes())
    return h.hexdigest()


def _frame_csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode()


def _pairs_csv(inter: Interactions) -> bytes:
    order = np.lexsort((inter.item, inter.user))
    return _frame_csv(pd.DataFrame({"user": inter.user[order], "item": inter.item[order]}))


def _from_files(files: dict[str, bytes], card: dict[str, Any]) -> ForgetSplit:
    read = (lambda n, **kw: pd.read_csv(io.BytesIO(files[n]), **kw))
    utok = read("user_tokens.csv", dtype=str, keep_default_na=False)["token"].to_numpy(object)
    itok = read("item_tokens.csv", dtype=str, keep_default_na=False)["token"].to_numpy(object)
    attrs = None
    if "user_attributes.csv" in files:
        attrs = read("user_attributes.csv", dtype="string")
    req = json.loads(files["request.json"])
    base = Interactions(np.zeros(0, np.int64), np.zeros(0, np.int64), len(utok), len(itok),
                        user_tokens=utok, item_tokens=itok, user_attributes=attrs,
                        name=req["dataset"]["name"])
    parts = {}
    for p in PARTS:
        df = read(f"{p}.csv", dtype=np.int64)
        parts[p] = base.with_arrays(df["user"].to_numpy(), df["item"].to_numpy(), name=p)
    users = read("forget_users.csv", dtype=np.int64)["user"].to_numpy()
    train = parts["retain"].concat(parts["forget"], name="train").sorted()
    request = ForgetRequest(req["kind"], parts["forget"], users, req["attribute"],
                            card["split_id"], card["sha256"])
    return ForgetSplit(card["split_id"], DatasetRef(**req["dataset"]), request, train,
                       parts["retain"], parts["valid"], parts["test"], parts["holdout_valid"],
                       parts["holdout_test"], card, card["sha256"])
