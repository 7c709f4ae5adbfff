"""Download a dataset card's files, verify sha256 before parsing, extract safely, cache.

Everything is built in a temporary directory next to the cache entry and renamed into place
at the end, so an error (network, checksum, unsafe archive) never leaves a partial file;
the temporary directory of a killed fetch (`.<version>.tmp-<pid>-*`, its process gone) is
removed by the next fetch. A download shorter or longer than its Content-Length is refused.
Before each archive member is written its declared size is checked against two bounds: the
total (`max_bytes`, 8 GiB) and `MAX_RATIO` times the archive's size (a zip bomb is refused
before it fills the disk); the bytes actually written are counted against the same bounds.
A card without a sha256 records the first verified download's digest in `sha256.json`
(and says so); `verify_status` tells files the card pins ("OK") from those it does not
("unpinned": they match the first download, which nothing vouches for).
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
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from cure4rec.data.cards import DatasetCard, Source
from cure4rec.data.load import data_home
from cure4rec.errors import DataError, IntegrityError

log = logging.getLogger(__name__)
MAX_EXTRACT_BYTES = 8 * 1024**3
MAX_RATIO = 200  # extracted bytes per archive byte (real data: text zips ~3-20x)
HASHES_FILE = "sha256.json"
STALE_SECONDS = 24 * 3600


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
    if card.reader == "train-test" and url is None:
        raise DataError(f"dataset {card.name!r}: its sources are a paper's repository folder, "
                        "not a download; get the files it lists from there, put them in one "
                        "folder and pass --data-dir (the card's sha256 are checked on load)")
    if url is not None and len(card.sources) != 1:
        raise DataError(f"--url needs a card with one source; {card.name} has {len(card.sources)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    reclaim_temps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{card.version}.tmp-{os.getpid()}-", dir=target.parent))
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reclaim_temps(folder: Path) -> list[Path]:
    """Remove temp dirs of fetches that died (`.<version>.tmp-<pid>-*` of a dead pid, or
    without a pid and older than a day)."""
    removed = []
    for d in sorted(folder.glob(".*.tmp-*")):
        pid = d.name.split(".tmp-", 1)[1].split("-", 1)[0]
        stale = (not _pid_alive(int(pid)) if pid.isdigit()
                 else time.time() - d.stat().st_mtime > STALE_SECONDS)
        if stale and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    if removed:
        log.warning("removed %d temporary folder(s) of interrupted fetches in %s",
                    len(removed), folder)
    return removed


def _fetch_source(src: Source, tmp: Path, url: str, progress: bool,
                  max_bytes: int) -> tuple[str, str]:
    name = src.filename or PurePosixPath(url).name
    dest = tmp / name
    digest = download(url, dest, progress)
    if src.sha256 is not None and digest != src.sha256.lower():
        raise IntegrityError(f"{url}: sha256 mismatch (expected {src.sha256}, got {digest}); "
                             "the download is corrupt or the file changed upstream")
    if src.sha256 is None:
        log.warning("%s: the card pins no sha256; recorded this first download's sha256 %s "
                    "(`data verify` will call it unpinned)", name, digest)
    if src.extract:
        extract(dest, tmp, max_bytes)
    return name, digest


def download(url: str, dest: Path, progress: bool = True) -> str:
    """Stream `url` to `dest` with a progress bar; return the sha256 of the bytes.

    The byte count must equal the Content-Length the server announced (if any)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DataError(f"{url!r}: not an http(s) or file URL; check --url or the card")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as out:
            announced = resp.headers.get("Content-Length")
            try:
                total = int(announced) if announced is not None else None
            except ValueError:
                total = -1
            if total is not None and total < 0:
                raise DataError(f"{url}: bad Content-Length {announced!r} from the server; "
                                "try again later or use a mirror (--url)")
            n = 0
            with tqdm(total=total or None, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress) as bar:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    n += len(block)
                    if total is not None and n > total:
                        break
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as exc:  # URLError, HTTPError, IncompleteRead...
        raise DataError(f"{url}: download failed: {exc}") from exc
    if total is not None and n != total:
        raise DataError(f"{url}: got {n} bytes, the server announced {total} (truncated or "
                        "corrupt download); nothing was kept: try again")
    return h.hexdigest()


def _safe_member(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")):
        raise DataError(f"{archive}: unsafe archive entry {name!r} escapes the target directory")
    return p


def extract(archive: Path, into: Path, max_bytes: int = MAX_EXTRACT_BYTES) -> None:
    """Extract a zip, tar(.gz) or .gz file into `into`, refusing unsafe entries.

    At most `min(max_bytes, MAX_RATIO * archive size)` bytes are written in all; a member
    whose declared size would pass that bound is refused before it is written."""
    budget = min(max_bytes, MAX_RATIO * max(archive.stat().st_size, 1))
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, into, budget)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, into, budget)
        elif archive.suffix == ".gz":
            out = into / archive.stem
            with gzip.open(archive, "rb") as src, open(out, "wb") as dst:
                _copy_bounded(src, dst, budget, archive)
        else:
            raise DataError(f"{archive}: not a zip, tar or gzip archive")
    except DataError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{archive.name}: damaged archive ({exc}); nothing was kept: fetch "
                        "again or use a mirror (--url)") from exc
    except OSError as exc:
        raise DataError(f"{archive.name}: extraction failed ({exc.strerror or exc}); nothing "
                        "was kept: free disk space and fetch again") from exc


def _too_big(archive: Path, name: str, size: int, budget: int) -> DataError:
    return DataError(f"{archive.name}: member {name!r} ({size} bytes) exceeds the limit of "
                     f"{budget} bytes left (min(max_bytes, {MAX_RATIO}x the archive size)); "
                     "refused before writing it (an archive bomb?)")


def _copy_bounded(src, dst, budget: int, archive: Path) -> int:  # type: ignore[no-untyped-def]
    n = 0
    for block in iter(lambda: src.read(1 << 20), b""):
        n += len(block)
        if n > budget:
            raise DataError(f"{archive}: extracted size exceeds the limit of {budget} bytes")
        dst.write(block)
    return n


def _check_layout(archive: Path, entries: list[tuple[str, bool]]) -> None:
    """Refuse duplicate members and a name used both as a file and as a folder."""
    files: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    for name, is_dir in entries:
        parts = _safe_member(name, archive).parts
        if not parts:
            continue
        for k in range(1, len(parts)):
            dirs.add(parts[:k])
        if is_dir:
            dirs.add(parts)
        elif parts in files:
            raise DataError(f"{archive.name}: member {name!r} appears twice; refusing")
        else:
            files.add(parts)
    clash = sorted(files & dirs)
    if clash:
        raise DataError(f"{archive.name}: {'/'.join(clash[0])!r} is both a file and a folder "
                        "in the archive; refusing")


def _extract_zip(archive: Path, into: Path, budget: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _safe_member(info.filename, archive)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise DataError(f"{archive}: archive entry {info.filename!r} is a symbolic link")
        _check_layout(archive, [(i.filename, i.is_dir()) for i in infos])
        for info in infos:
            rel = _safe_member(info.filename, archive)
            out = into.joinpath(*rel.parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            if info.file_size > budget:
                raise _too_big(archive, info.filename, info.file_size, budget)
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                budget -= _copy_bounded(src, dst, budget, archive)


def _extract_tar(archive: Path, into: Path, budget: int) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _safe_member(m.name, archive)
            if m.issym() or m.islnk():  # data archives need no links; refuse them all
                raise DataError(f"{archive}: archive entry {m.name!r} is a link "
                                f"(-> {m.linkname!r}); refusing to extract")
            if not (m.isfile() or m.isdir()):
                raise DataError(f"{archive}: archive entry {m.name!r} is not a regular file")
        _check_layout(archive, [(m.name, m.isdir()) for m in members])
        for m in members:
            out = into.joinpath(*_safe_member(m.name, archive).parts)
            if m.isdir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            if m.size > budget:
                raise _too_big(archive, m.name, m.size, budget)
            out.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(m)
            assert src is not None
            with src, open(out, "wb") as dst:
                budget -= _copy_bounded(src, dst, budget, archive)


def verify(card: DatasetCard, home: Path | None = None) -> dict[str, str]:
    """Re-hash the cached downloads of `card`; IntegrityError if any differs from the card
    (or, for a file the card pins no sha256 for, from the first download's digest)."""
    return {n: d for n, (d, _) in verify_status(card, home).items()}


def verify_status(card: DatasetCard, home: Path | None = None) -> dict[str, tuple[str, str]]:
    """`{file: (sha256, "OK" | "unpinned")}`: "OK" = matches the card's sha256; "unpinned" =
    the card has none and the file matches the digest recorded at its first download."""
    target = cache_dir(card, home)
    if not (target / HASHES_FILE).is_file():
        raise DataError(f"{card.ref} is not in the cache {target}; run `cure4rec data fetch "
                        f"{card.name}`")
    try:
        recorded = json.loads((target / HASHES_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{target / HASHES_FILE}: unreadable ({exc}); fetch {card.name} "
                        "again") from exc
    if not isinstance(recorded, dict):
        raise DataError(f"{target / HASHES_FILE}: not a mapping; fetch {card.name} again")
    out = {}
    for src in card.sources:
        name = src.filename or PurePosixPath(src.url).name
        path = target / name
        if not path.is_file():
            raise DataError(f"{path}: missing from the cache; fetch {card.name} again")
        digest = sha256_file(path)
        expected = str(src.sha256 or recorded.get(name) or "").lower()
        if digest != expected:
            raise IntegrityError(f"{path}: sha256 {digest} does not match {expected}")
        out[name] = (digest, "OK" if src.sha256 else "unpinned")
    return out
