"""The CLI's start-up and usage errors: one line, exit 2, and nothing heavy imported early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "80"},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuch",), "No such command 'nosuch'"),
        (("ask",), "Missing argument 'question'"),
        (("metrics", "kpis", "--bogus"), "No such option: --bogus"),
        (("metrics", "kpis", "--page", "x"), "Invalid value for '--page'"),
        (("digest", "preview", "--nope"), "No such option: --nope"),
        (("keys", "revoke"), "Missing argument"),
        (("demo", "--events", "5"), "greater than or equal to 100"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, (args, done.stderr)
    assert lines[0].startswith("error: ") and message in lines[0], (args, lines)
    assert "--help" in lines[0]
    assert done.stdout == ""


def test_help_lists_every_command_and_exits_0(tmp_path: Path) -> None:
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("import", "demo", "status", "metrics", "ask", "serve", "keys", "digest"):
        assert command in done.stdout
    assert not (tmp_path / "portalpulse.db").exists()  # help opens no database


HEAVY = (
    "sqlalchemy", "metrics.db", "metrics.models", "pyarrow", "numpy", "fastapi", "assistant",
    "langchain", "chromadb", "onnxruntime", "uvicorn",
)  # fmt: skip


def imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(done.stdout.split())


def test_the_command_tree_imports_nothing_heavy() -> None:
    loaded = imported_after("import cli")
    early = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert not early, f"imported by `import cli`: {early[:10]}"


def test_a_metrics_command_does_not_load_the_assistant_or_arrow(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code = (
        "from cli import app\nfrom cli.common import run_app\n"
        f"run_app(app, ['metrics', 'summary', '--db', {db!r}, '--json'])"
    )
    loaded = imported_after(code)
    assert "sqlalchemy" in loaded and "metrics.sections.summary" in loaded
    for heavy in ("assistant", "langchain", "chromadb", "pyarrow", "fastapi", "onnxruntime"):
        assert heavy not in loaded, heavy


def test_the_cli_section_names_are_the_metrics_sections() -> None:
    from cli.metrics import SECTIONS
    from metrics.sections import SECTIONS as REAL

    assert tuple(REAL) == SECTIONS


def test_default_workspace_name_matches_the_database_layer() -> None:
    from cli.common import DEFAULT_WS
    from metrics.db import DEFAULT_WORKSPACE

    assert DEFAULT_WS == DEFAULT_WORKSPACE


def test_every_command_module_is_registered() -> None:
    from cli import COMMANDS

    modules = {p.stem for p in (ROOT / "cli").glob("*.py")} - {
        "__init__",
        "common",
        "render",
        "scope",
    }
    assert modules == set(COMMANDS)
