"""Citation snippets: the split id and sha256 a paper cites, as a BibTeX-style entry.

The same text is printed by `cure4rec split show DIR --cite` and shown under every
leaderboard section (one entry per forget split of the section: a random selection draws
one split per seed).
"""

from __future__ import annotations

import re


def cite_key(split_id: str) -> str:
    """A BibTeX key from a split id (`ml-100k@1/random-users-5pct/seed0` ->
    `cure4rec:ml-100k-1-random-users-5pct-seed0`)."""
    return "cure4rec:" + re.sub(r"[^A-Za-z0-9.-]+", "-", split_id).strip("-")


def bibtex(split_id: str, sha256: str, *, dataset: str = "", dataset_sha256: str = "",
           version: str = "", protocol: str = "") -> str:
    """A `@misc` entry naming the forget split by id and sha256 (plus dataset, cure4rec
    version and evaluation protocol when known)."""
    fields = [("title", f"cure4rec forget split {split_id}"), ("howpublished", "cure4rec"),
              ("note", f"split sha256 {sha256}")]
    if dataset:
        fields.append(("dataset", dataset + (f" (sha256 {dataset_sha256})"
                                             if dataset_sha256 else "")))
    if version:
        fields.append(("version", f"cure4rec {version}"))
    if protocol:
        fields.append(("protocol", protocol))
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@misc{{{cite_key(split_id)},\n{body}\n}}"
