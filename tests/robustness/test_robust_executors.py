"""Executors under attack: a local Ray listens on loopback only and registers 127.0.0.1;
Ray and pool workers die with a SIGKILLed parent; a user error in a Ray task stays one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


def _driver(tmp: Path, body: str) -> subprocess.Popen:
    script = tmp / "driver.py"
    script.write_text(textwrap.dedent(body))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": f"{ROOT}:{tmp}"}
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp)


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    end = time.monotonic() + seconds
    alive = pids
    while time.monotonic() < end:
        alive = [p for p in pids if Path(f"/proc/{p}").exists()
                 and "zombie" not in Path(f"/proc/{p}/status").read_text(errors="ignore")
                 .lower()]
        if not alive:
            return []
        time.sleep(0.25)
    return alive


RAY_DRIVER = """
import json, time
import psutil
from cure4rec.errors import ConfigError
from cure4rec.runner.cells import CellSpec
from cure4rec.runner.executors import RayExecutor, _ray_get

cell = CellSpec(kind="original", dataset={"name": "x"}, split={},
                forget={"strategy": "random", "fraction": 0.1}, model={"name": "bpr"},
                method={"name": "original"}, seed=0)

ray = RayExecutor(workers=1)._init()

@ray.remote(max_retries=0)
def bad():
    raise ConfigError("recipe x.yaml: models[0]: bad value 3; use 4")

try:
    _ray_get(ray, bad.remote(), cell)
    msg = None
except ConfigError as exc:
    msg = str(exc)
time.sleep(1.0)
me = psutil.Process()
procs = [p for p in me.children(recursive=True)]
pids = {p.pid for p in procs} | {me.pid}
listen = sorted({(c.laddr.ip, c.laddr.port) for c in psutil.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.pid in pids})
names = sorted({p.name() for p in procs})
print(json.dumps({"listen": listen, "node": ray.nodes()[0]["NodeManagerAddress"],
                  "msg": msg, "pids": [p.pid for p in procs], "names": names}), flush=True)
time.sleep(300)
"""


@pytest.mark.slow
@pytest.mark.ray
def test_local_ray_binds_loopback_and_dies_with_its_driver(tmp_path) -> None:
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    proc = _driver(tmp_path, RAY_DRIVER)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, "the Ray driver printed nothing"
        info = json.loads(line)
        assert info["node"] == "127.0.0.1"
        assert len(info["listen"]) >= 3, info  # GCS, raylet, workers at least
        assert {ip for ip, _ in info["listen"]} <= LOOPBACK, info["listen"]
        assert info["msg"] == "recipe x.yaml: models[0]: bad value 3; use 4"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        left = _wait_gone(info["pids"], 15)
        assert not left, [(p, Path(f"/proc/{p}/comm").read_text().strip()) for p in left]
    finally:
        if proc.poll() is None:
            proc.kill()


POOL_DRIVER = """
import pathlib, threading, time
import psutil
from cure4rec.runner.cells import CellSpec
from cure4rec.runner.executors import ProcessExecutor
import sleeper

cell = CellSpec(kind="original", dataset={"name": "x"}, split={},
                forget={"strategy": "random", "fraction": 0.1}, model={"name": "bpr"},
                method={"name": "original"}, seed=0)
if __name__ == "__main__":  # spawned workers re-import this file
    threading.Thread(target=lambda: list(ProcessExecutor(1).map(sleeper.sleep, [cell])),
                     daemon=True).start()
    for _ in range(900):
        if pathlib.Path("started").exists():
            break
        time.sleep(0.1)
    print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
    time.sleep(300)
"""


@pytest.mark.slow
def test_pool_workers_die_with_their_parent(tmp_path) -> None:
    pytest.importorskip("psutil")
    (tmp_path / "sleeper.py").write_text(
        "import pathlib, time\n\n"
        "def sleep(payload):\n"
        "    pathlib.Path('started').touch()\n"
        "    time.sleep(300)\n")
    proc = _driver(tmp_path, POOL_DRIVER)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]  # type: ignore[union-attr]
        assert pids and (tmp_path / "started").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        left = _wait_gone(pids, 10)
        assert not left, left
    finally:
        if proc.poll() is None:
            proc.kill()


def test_watch_parent_exits_an_orphan(tmp_path) -> None:
    """The watchdog alone (no torch): a grandchild exits once its parent is SIGKILLed."""
    (tmp_path / "grandchild.py").write_text(
        f"import os, sys, time\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from cure4rec.runner.executors import watch_parent\n"
        "watch_parent(os.getppid(), 0.1)\n"
        f"open({str(tmp_path / 'watching')!r}, 'w').close()\ntime.sleep(60)\n")
    (tmp_path / "child.py").write_text(
        "import subprocess, sys, time\n"
        f"g = subprocess.Popen([sys.executable, {str(tmp_path / 'grandchild.py')!r}])\n"
        "print(g.pid, flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(tmp_path / "child.py")],
                            stdout=subprocess.PIPE, text=True)
    try:
        grandchild = int(proc.stdout.readline())  # type: ignore[union-attr]
        deadline = time.monotonic() + 60  # until it has imported and is watching
        while not (tmp_path / "watching").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Path(f"/proc/{grandchild}").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert not _wait_gone([grandchild], 10)
    finally:
        if proc.poll() is None:
            proc.kill()
