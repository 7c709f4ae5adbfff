"""The record writer killed mid-write never leaves a partial record where readers look.

Fault injection by the kernel, independent of how the writer is implemented: the writer
runs in a subprocess under RLIMIT_FSIZE = half the record's size, so its write is cut
short after exactly that many bytes, and then
- `kill`: SIGXFSZ at its default action terminates the process in the middle of the write;
- `raise`: SIGXFSZ ignored (Python's default), the write fails with EFBIG (OSError).
A writer that wrote straight to `<hash>.json` would leave a torn record there.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cure4rec.runner import expand_cells, load_recipe
from cure4rec.runner.records import (
    find_records,
    is_complete,
    load_record,
    remove_stale_temps,
    write_record,
)
from cure4rec.runner.toy import toy_cell

WRITER = """
import json, resource, signal, sys
from pathlib import Path
from cure4rec.runner.records import write_record
rec = json.loads(Path(sys.argv[1]).read_text())
limit = int(sys.argv[3])
if sys.argv[4] == "kill":
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
write_record(rec, Path(sys.argv[2]))
"""


def _record(recipe_dir: Path, pad: str = "x") -> dict:
    cell = expand_cells(load_recipe(recipe_dir / "child.yaml"))[0]
    rec = toy_cell(cell)
    rec["info"] = {"pad": pad * 60_000}  # several write buffers long
    return rec


def _size(rec: dict, tmp: Path) -> int:
    return write_record(rec, tmp / "probe").stat().st_size


def _torn_write(rec: dict, records: Path, limit: int, mode: str, tmp: Path
                ) -> subprocess.CompletedProcess:
    src = tmp / "rec-input.json"
    src.write_text(json.dumps(rec))
    return subprocess.run([sys.executable, "-c", WRITER, str(src), str(records), str(limit),
                           mode], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", ["kill", "raise"])
def test_writer_killed_mid_write_leaves_no_partial_record(recipe_dir: Path, tmp_path: Path,
                                                          mode: str) -> None:
    rec = _record(recipe_dir)
    half = _size(rec, tmp_path) // 2
    records = tmp_path / "records"
    records.mkdir()
    res = _torn_write(rec, records, half, mode, tmp_path)
    final = records / f"{rec['config_hash']}.json"
    if mode == "kill":
        assert res.returncode == -signal.SIGXFSZ, res.stderr[-2000:]
        temps = list(records.glob(".tmp-*"))
        # the fault struck mid-write: exactly `half` bytes reached the disk, in a temp file
        assert [p.stat().st_size for p in temps] == [half]
    else:
        assert res.returncode == 1 and "File too large" in res.stderr, res.stderr[-2000:]
        assert list(records.glob(".tmp-*")) == []  # the writer cleaned up after itself
    assert not final.exists()
    assert find_records(records) == []
    assert not is_complete(final, rec["config_hash"])
    remove_stale_temps(records)  # the writer is dead: its leftovers go
    assert list(records.iterdir()) == []


def test_torn_overwrite_keeps_the_previous_record(recipe_dir: Path, tmp_path: Path) -> None:
    old = _record(recipe_dir, "o")
    records = tmp_path / "records"
    final = write_record(old, records)
    before = final.read_bytes()
    new = _record(recipe_dir, "n")
    res = _torn_write(new, records, _size(new, tmp_path) // 2, "kill", tmp_path)
    assert res.returncode == -signal.SIGXFSZ, res.stderr[-2000:]
    assert final.read_bytes() == before  # readers still see the whole old record
    assert load_record(final)["info"]["pad"] == "o" * 60_000
    assert find_records(records) == [final]
