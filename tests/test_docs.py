"""Documentation that code depends on stays true."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tools.glossary import define, entries

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_page_is_assembled_from_its_fragments() -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-metrics-doc"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_glossary_explains_the_core_terms() -> None:
    terms = {e["term"] for e in entries()}
    assert {"session", "avg_session_seconds", "as_of", "drifting user"} <= terms
    assert define("what does avg visit duration mean?")[0]["term"] == "avg_session_seconds"


def test_a_term_named_outright_is_defined_by_its_own_entry() -> None:
    from tools.glossary import define

    assert define("what does stickiness mean")[0]["term"] == "stickiness"
    assert "dau" in define("what does stickiness mean")[0]["text"]
    assert define("what is activation")[0]["term"] == "Activation"
    # a bold-led definition keeps its whole wrapped paragraph, not only its first line
    assert "90 days of their first invite" in define("what is activation")[0]["text"]
    # a phrase that is nobody's term still finds the entries whose text uses it
    assert define("invite conversion") and define("xyzzy plugh") == []
