"""`cure4rec check-method` runs the kit on a one-file third-party method."""

from pathlib import Path

from cure4rec.cli import main
from cure4rec.testing import TOY_MODEL

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third_party_method.py"


def test_check_method_file_path(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["check-method", f"{EXAMPLE}:LastEpochs", "--model", TOY_MODEL]) == 0
    out = capsys.readouterr().out
    assert "5/5 checks passed" in out and "FAIL" not in out


def test_check_method_bad_input() -> None:
    assert main(["check-method", "no_such_method", "--model", TOY_MODEL]) == 2
    assert main(["check-method", "retrain", "--config", "{bad"]) == 2
