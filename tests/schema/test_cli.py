"""``kgbuild schema validate|show`` through typer's runner and, for exit codes, the real console entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.resources import REPO_ROOT

runner = CliRunner()
DEFAULT = REPO_ROOT / "schemas" / "default.yaml"


def kgbuild(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the console entry point (``kgbuild.cli.app:main``) as a user would."""
    code = "from kgbuild.cli.app import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO_ROOT)


def test_validate_default_schema() -> None:
    result = runner.invoke(app, ["schema", "validate", str(DEFAULT)])
    assert result.exit_code == 0, result.output
    assert "ok (6 entity types, 96 relation types)" in result.output


def test_show_prints_tables() -> None:
    result = runner.invoke(app, ["schema", "show", str(REPO_ROOT / "schemas" / "conll04.yaml")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("entity types", "relation types", "WORK_FOR", "Organization", "Peop", "ORG_BASED_IN"):
        assert text in result.output


def test_show_marks_symmetric_relations() -> None:
    result = runner.invoke(app, ["schema", "show", str(DEFAULT)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    sibling = next(line for line in result.output.splitlines() if "SIBLING" in line)
    assert "symmetric" in sibling


def test_validate_bad_schema_exits_1_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities:\n  - name: Person\nrelations:\n  - name: KNOWS\n    domain: [Person]\n    range: [Persn]\n")
    result = kgbuild("schema", "validate", str(bad))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {bad}:6: ")
    assert "unknown entity type 'Persn'" in lines[0]


def test_show_invalid_yaml_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("entities: [Person\n")
    result = kgbuild("schema", "show", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad}:") and "invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    result = kgbuild("schema", "validate", str(tmp_path / "none.yaml"))
    assert result.returncode == 1
    assert "schema file not found" in result.stderr


def test_validate_default_via_entry_point() -> None:
    result = kgbuild("schema", "validate", "schemas/default.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("schemas/default.yaml: ok")
