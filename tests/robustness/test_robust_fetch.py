"""Hostile downloads: lying servers, bad URLs, zip bombs, damaged archives, name clashes,
killed fetches, unpinned cards. Nothing partial may reach the cache."""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _robust import Snapshot, cli, expect_error, write

ROWS = "".join(f"{u}\t{i}\t4\t{1000 + u * 10 + i}\n" for u in range(1, 8) for i in range(1, 8))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `routes[path] = (headers, body)` exactly as given (lies included)."""

    routes: dict[str, tuple[dict[str, str], bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        headers, body = self.routes.get(self.path, ({}, b""))
        if self.path not in self.routes:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[dict, str]]:
    routes: dict[str, tuple[dict[str, str], bytes]] = {}
    handler = type("H", (_Handler,), {"routes": routes})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield routes, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture()
def env(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("CURE4REC_DATA", str(tmp_path / "home"))
    monkeypatch.setenv("CURE4REC_CARDS", str(tmp_path / "cards"))
    (tmp_path / "home").mkdir()
    return tmp_path


def _card(tmp: Path, url: str, sha: str | None, filename: str = "toy.zip") -> None:
    write(tmp / "cards" / "toy.yaml",
          "name: toy\nversion: '1'\nreader: movielens-100k\nlicence: t\ncitation: t\n"
          f"sources:\n  - url: {url}\n    filename: {filename}\n"
          f"    sha256: {repr(sha) if sha else 'null'}\n    extract: true\n"
          "files: {ratings: toy/u.data}\npreprocessing: {k_core: 0}\n")


def _serve(routes: dict, base: str, env: Path, body: bytes, headers: dict | None = None,
           pin: bool = False, name: str = "toy.zip") -> None:
    routes[f"/{name}"] = (headers if headers is not None else
                          {"Content-Length": str(len(body))}, body)
    _card(env, f"{base}/{name}", hashlib.sha256(body).hexdigest() if pin else None, name)


def _fetch(capsys) -> tuple[int, str, str]:
    return cli(capsys, "data", "fetch", "toy", "--quiet")


def _cache_is_empty(env: Path) -> None:
    left = [p for p in (env / "home").rglob("*") if p.is_file()]
    assert not left, left


def test_short_body_against_content_length(capsys, server, env) -> None:
    routes, base = server
    body = _zip({"toy/u.data": ROWS.encode()})
    _serve(routes, base, env, body[:100], headers={"Content-Length": str(len(body))})
    expect_error(_fetch(capsys), "toy.zip")
    _cache_is_empty(env)


def test_non_numeric_content_length(capsys, server, env) -> None:
    routes, base = server
    body = _zip({"toy/u.data": ROWS.encode()})
    _serve(routes, base, env, body, headers={"Content-Length": "lots"})
    expect_error(_fetch(capsys), "toy.zip")
    _cache_is_empty(env)


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.org/x.zip", "http://"])
def test_bad_url(capsys, server, env, url) -> None:
    routes, base = server
    _serve(routes, base, env, _zip({"toy/u.data": ROWS.encode()}))
    expect_error(cli(capsys, "data", "fetch", "toy", "--quiet", "--url", url), url)
    _cache_is_empty(env)


def test_zip_bomb_refused_before_writing(capsys, server, env) -> None:
    routes, base = server
    body = _zip({"toy/u.data": b"0" * (16 << 20)})  # 16 MiB of zeros, ~16 KiB compressed
    assert len(body) * 200 < 16 << 20
    _serve(routes, base, env, body)
    expect_error(_fetch(capsys), "u.data", "exceeds the limit", "before writing")
    _cache_is_empty(env)


def test_zip_with_bad_crc(capsys, server, env) -> None:
    routes, base = server
    body = bytearray(_zip({"toy/u.data": ROWS.encode()}, zipfile.ZIP_STORED))
    k = bytes(body).index(b"1\t1\t4")
    body[k] ^= 0x01
    _serve(routes, base, env, bytes(body))
    expect_error(_fetch(capsys), "toy.zip", "damaged archive")
    _cache_is_empty(env)


def test_truncated_tar_gz(capsys, server, env) -> None:
    routes, base = server
    body = _tar_gz({"toy/u.data": ROWS.encode() * 200})
    _serve(routes, base, env, body[: len(body) // 2], name="toy.tar.gz")
    expect_error(_fetch(capsys), "toy.tar.gz")
    _cache_is_empty(env)


def test_tar_members_colliding_file_and_folder(capsys, server, env) -> None:
    routes, base = server
    body = _tar_gz({"toy/u.data": ROWS.encode(), "toy/u.data/x": b"1"})
    _serve(routes, base, env, body, name="toy.tar.gz")
    expect_error(_fetch(capsys), "both a file and a folder")
    _cache_is_empty(env)


def test_duplicate_zip_members(capsys, server, env) -> None:
    routes, base = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("toy/u.data", ROWS)
        zf.writestr("toy/u.data", "evil\n")
    _serve(routes, base, env, buf.getvalue())
    expect_error(_fetch(capsys), "appears twice")
    _cache_is_empty(env)


def test_disk_full_while_extracting(capsys, server, env, monkeypatch) -> None:
    import cure4rec.data.fetch as fetch

    routes, base = server
    _serve(routes, base, env, _zip({"toy/u.data": ROWS.encode()}))

    def full(*a: object, **k: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch, "_copy_bounded", full)
    expect_error(_fetch(capsys), "No space left on device")
    _cache_is_empty(env)


def test_stale_temp_dir_of_a_killed_fetch_is_reclaimed(capsys, server, env) -> None:
    routes, base = server
    _serve(routes, base, env, _zip({"toy/u.data": ROWS.encode()}))
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stale = write(env / "home" / "toy" / f".1.tmp-{dead}-abc" / "big.part", b"x" * 1000)
    live = write(env / "home" / "toy" / f".1.tmp-{os.getpid()}-def" / "part", b"x")
    rc, out, err = _fetch(capsys)
    assert rc == 0, err
    assert not stale.parent.exists() and live.exists()


def test_unpinned_card_records_first_digest_and_verify_says_unpinned(capsys, server,
                                                                     env) -> None:
    routes, base = server
    body = _zip({"toy/u.data": ROWS.encode()})
    _serve(routes, base, env, body)
    rc, _, err = _fetch(capsys)
    assert rc == 0 and "pins no sha256" in err
    rc, out, _ = cli(capsys, "data", "verify", "toy")
    assert rc == 0 and "unpinned" in out and " OK" not in out
    assert hashlib.sha256(body).hexdigest() in out
    # a changed cached file is caught against the recorded first digest
    cached = next((env / "home").rglob("toy.zip"))
    cached.write_bytes(body + b"x")
    snap = Snapshot(env / "home")
    expect_error(cli(capsys, "data", "verify", "toy"), "does not match", snapshot=snap)


def test_pinned_card_verifies_ok(capsys, server, env) -> None:
    routes, base = server
    _serve(routes, base, env, _zip({"toy/u.data": ROWS.encode()}), pin=True)
    assert _fetch(capsys)[0] == 0
    rc, out, _ = cli(capsys, "data", "verify", "toy")
    assert rc == 0 and out.rstrip().endswith("OK")
