"""Download a dataset card's files, verify sha256 before parsing, extract safely, cache.

Everything is built in a temporary directory next to the cache entry and renamed into place
at the end, so an error (network, checksum, unsafe archive) never leaves a partial file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from cure4rec.data.cards import DatasetCard, Source
from cure4rec.data.load import data_home
from cure4rec.errors import DataError, IntegrityError

log = logging.getLogger(__name__)
MAX_EXTRACT_BYTES = 8 * 1024**3
HASHES_FILE = "sha256.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir(card: DatasetCard, home: Path | None = None) -> Path:
    """The cache entry of a card: `<data home>/<name>/<version>`."""
    return (home or data_home()) / card.name / card.version


def fetch(card: DatasetCard, home: Path | None = None, url: str | None = None,
          progress: bool = True, max_bytes: int = MAX_EXTRACT_BYTES) -> Path:
    """Download, verify and extract `card`'s sources; return the cache directory.

    `url` overrides the (single) source URL, e.g. for a mirror. A source whose card sha256 is
    null is accepted; its hash is logged and recorded in `sha256.json` in the cache entry.
    """
    target = cache_dir(card, home)
    if (target / HASHES_FILE).is_file():
        log.info("%s: already in the cache at %s", card.ref, target)
        return target
    if not card.sources:
        raise DataError(f"dataset {card.name!r} has no download source (reader {card.reader})")
    if url is not None and len(card.sources) != 1:
        raise DataError(f"--url needs a card with one source; {card.name} has {len(card.sources)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{card.version}.tmp-", dir=target.parent))
    try:
        hashes = {}
        for src in card.sources:
            name, digest = _fetch_source(src, tmp, url or src.url, progress, max_bytes)
            hashes[name] = digest
        (tmp / HASHES_FILE).write_text(json.dumps(hashes, indent=2, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _fetch_source(src: Source, tmp: Path, url: str, progress: bool,
                  max_bytes: int) -> tuple[str, str]:
    name = src.filename or PurePosixPath(url).name
    dest = tmp / name
    digest = download(url, dest, progress)
    if src.sha256 is not None and digest != src.sha256.lower():
        raise IntegrityError(f"{url}: sha256 mismatch (expected {src.sha256}, got {digest}); "
                             "the download is corrupt or the file changed upstream")
    if src.sha256 is None:
        log.warning("%s: no sha256 in the card; first download has sha256 %s", name, digest)
    if src.extract:
        extract(dest, tmp, max_bytes)
    return name, digest


def download(url: str, dest: Path, progress: bool = True) -> str:
    """Stream `url` to `dest` with a progress bar; return the sha256 of the bytes."""
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress) as bar:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise DataError(f"{url}: download failed: {exc}") from exc
    return h.hexdigest()


def _safe_member(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")):
        raise DataError(f"{archive}: unsafe archive entry {name!r} escapes the target directory")
    return p


def extract(archive: Path, into: Path, max_bytes: int = MAX_EXTRACT_BYTES) -> None:
    """Extract a zip, tar(.gz) or .gz file into `into`, refusing unsafe entries."""
    if zipfile.is_zipfile(archive):
        _extract_zip(archive, into, max_bytes)
    elif tarfile.is_tarfile(archive):
        _extract_tar(archive, into, max_bytes)
    elif archive.suffix == ".gz":
        out = into / archive.stem
        with gzip.open(archive, "rb") as src, open(out, "wb") as dst:
            _copy_bounded(src, dst, max_bytes, archive)
    else:
        raise DataError(f"{archive}: not a zip, tar or gzip archive")


def _copy_bounded(src, dst, budget: int, archive: Path) -> int:  # type: ignore[no-untyped-def]
    n = 0
    for block in iter(lambda: src.read(1 << 20), b""):
        n += len(block)
        if n > budget:
            raise DataError(f"{archive}: extracted size exceeds the limit of {budget} bytes")
        dst.write(block)
    return n


def _extract_zip(archive: Path, into: Path, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _safe_member(info.filename, archive)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise DataError(f"{archive}: archive entry {info.filename!r} is a symbolic link")
        budget = max_bytes
        for info in infos:
            rel = _safe_member(info.filename, archive)
            out = into.joinpath(*rel.parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                budget -= _copy_bounded(src, dst, budget, archive)


def _extract_tar(archive: Path, into: Path, max_bytes: int) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _safe_member(m.name, archive)
            if m.issym() or m.islnk():  # data archives need no links; refuse them all
                raise DataError(f"{archive}: archive entry {m.name!r} is a link "
                                f"(-> {m.linkname!r}); refusing to extract")
            if not (m.isfile() or m.isdir()):
                raise DataError(f"{archive}: archive entry {m.name!r} is not a regular file")
        budget = max_bytes
        for m in members:
            out = into.joinpath(*_safe_member(m.name, archive).parts)
            if m.isdir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(m)
            assert src is not None
            with src, open(out, "wb") as dst:
                budget -= _copy_bounded(src, dst, budget, archive)


def verify(card: DatasetCard, home: Path | None = None) -> dict[str, str]:
    """Re-hash the cached downloads of `card`; IntegrityError if any differs from the card."""
    target = cache_dir(card, home)
    if not (target / HASHES_FILE).is_file():
        raise DataError(f"{card.ref} is not in the cache {target}; run `cure4rec data fetch "
                        f"{card.name}`")
    recorded = json.loads((target / HASHES_FILE).read_text())
    out = {}
    for src in card.sources:
        name = src.filename or PurePosixPath(src.url).name
        path = target / name
        if not path.is_file():
            raise DataError(f"{path}: missing from the cache; fetch {card.name} again")
        digest = sha256_file(path)
        expected = (src.sha256 or recorded.get(name) or "").lower()
        if digest != expected:
            raise IntegrityError(f"{path}: sha256 {digest} does not match {expected}")
        out[name] = digest
    return out
