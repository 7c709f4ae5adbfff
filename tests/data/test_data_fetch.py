"""Fetch: local HTTP server; sha256 verified before parsing; unsafe archives refused."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from cure4rec.cli import main
from cure4rec.data.cards import load_card
from cure4rec.data.fetch import fetch, verify
from cure4rec.data.load import load_dataset
from cure4rec.errors import DataError, IntegrityError

ROWS = "".join(f"{u}\t{i}\t4\t{1000 + u * 10 + i}\n" for u in range(1, 8) for i in range(1, 8))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served on 127.0.0.1 (ephemeral port) and its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def make_zip(path: Path, entries: dict[str, str]) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def write_card(cards: Path, url: str, sha: str | None) -> None:
    cards.mkdir(exist_ok=True)
    (cards / "toy.yaml").write_text(
        "name: toy\nversion: '1'\nreader: movielens-100k\nlicence: test\ncitation: test\n"
        f"sources:\n  - url: {url}\n    filename: toy.zip\n    sha256: {repr(sha) if sha else 'null'}\n"
        "    extract: true\nfiles: {ratings: toy/u.data}\n"
        "preprocessing: {k_core: 5}\n")


def test_fetch_success_then_load(served, tmp_path: Path, monkeypatch) -> None:
    root, base = served
    sha = make_zip(root / "toy.zip", {"toy/u.data": ROWS})
    write_card(tmp_path / "cards", f"{base}/toy.zip", sha)
    monkeypatch.setenv("CURE4REC_DATA", str(tmp_path / "home"))
    card = load_card("toy", tmp_path / "cards")
    path = fetch(card, progress=False)
    assert (path / "toy" / "u.data").read_text() == ROWS
    assert verify(card) == {"toy.zip": sha}
    ds = load_dataset("toy", cards_dir=tmp_path / "cards")
    assert len(ds.interactions) == 49


def test_unknown_hash_is_recorded(served, tmp_path: Path) -> None:
    root, base = served
    sha = make_zip(root / "toy.zip", {"toy/u.data": ROWS})
    write_card(tmp_path / "cards", f"{base}/toy.zip", None)
    path = fetch(load_card("toy", tmp_path / "cards"), home=tmp_path / "home", progress=False)
    assert sha in (path / "sha256.json").read_text()


def _cache_files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()] if home.exists() else []


def test_sha256_mismatch_cli(served, tmp_path: Path, monkeypatch, capsys) -> None:
    root, base = served
    make_zip(root / "toy.zip", {"toy/u.data": ROWS})
    write_card(tmp_path / "cards", f"{base}/toy.zip", "0" * 64)
    monkeypatch.setenv("CURE4REC_DATA", str(tmp_path / "home"))
    rc = main(["data", "fetch", "toy", "--cards-dir", str(tmp_path / "cards"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "sha256 mismatch" in err and len(err.strip().splitlines()) == 1
    assert _cache_files(tmp_path / "home") == []
    with pytest.raises(IntegrityError):
        fetch(load_card("toy", tmp_path / "cards"), progress=False)


@pytest.mark.parametrize("entry", ["../evil.txt", "/abs/evil.txt", "toy/../../evil.txt"])
def test_archive_escape_refused(served, tmp_path: Path, monkeypatch, capsys, entry) -> None:
    root, base = served
    sha = make_zip(root / "toy.zip", {"toy/u.data": ROWS, entry: "x"})
    write_card(tmp_path / "cards", f"{base}/toy.zip", sha)
    monkeypatch.setenv("CURE4REC_DATA", str(tmp_path / "home"))
    rc = main(["data", "fetch", "toy", "--cards-dir", str(tmp_path / "cards"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "escapes the target directory" in err
    assert _cache_files(tmp_path / "home") == []
    assert not (tmp_path / "evil.txt").exists()


def test_url_override_and_download_error(served, tmp_path: Path) -> None:
    root, base = served
    sha = make_zip(root / "mirror.zip", {"toy/u.data": ROWS})
    write_card(tmp_path / "cards", "http://127.0.0.1:9/nowhere.zip", sha)
    card = load_card("toy", tmp_path / "cards")
    with pytest.raises(DataError, match="download failed"):
        fetch(card, home=tmp_path / "h1", progress=False, url=f"{base}/missing.zip")
    assert _cache_files(tmp_path / "h1") == []
    path = fetch(card, home=tmp_path / "h2", progress=False, url=f"{base}/mirror.zip")
    assert (path / "toy" / "u.data").is_file()


def test_extracted_size_bounded(served, tmp_path: Path) -> None:
    root, base = served
    sha = make_zip(root / "toy.zip", {"toy/u.data": ROWS * 50})
    write_card(tmp_path / "cards", f"{base}/toy.zip", sha)
    with pytest.raises(DataError, match="exceeds the limit"):
        fetch(load_card("toy", tmp_path / "cards"), home=tmp_path / "h", progress=False,
              max_bytes=1000)
    assert _cache_files(tmp_path / "h") == []
