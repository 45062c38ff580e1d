"""web/static/js/format.js gives the same text as metrics/formatting.py for the same values.

Runs the module in Node when one is installed (the browser tests check it in Chromium
too); skipped without Node.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from metrics.formatting import FIELD_FORMATS, FORMATS, format_field, format_for, format_value
from tests.test_formatting import CASES

MODULE = Path(__file__).resolve().parent.parent / "web" / "static" / "js" / "format.js"
NODE = shutil.which("node")


def values() -> list[tuple[object, str]]:
    rng = random.Random(16)
    out: list[tuple[object, str]] = [
        (v, f) for v, f, _ in CASES if not hasattr(v, "isoformat") and v is not True
    ]
    for _ in range(400):
        number = rng.choice(
            [
                rng.uniform(0, 1),
                rng.uniform(0, 10_000),
                round(rng.uniform(0, 100), 2),
                rng.randint(0, 10**7),
            ]
        )
        out.append(
            (number, rng.choice(["count", "number", "seconds", "percent", "score", "currency"]))
        )
    for ties in (0.25, 0.35, 2.5, 3.5, 87.25, 0.125, 0.005, 1e-9, 59.5, 3599.5):
        out += [(ties, f) for f in ("count", "number", "seconds", "percent", "score")]
    for stamp in ("2026-11-22", "2026-11-22T12:50:33.123456Z", "2026-01-01T23:59:59+00:00", "x"):
        out += [(stamp, "date"), (stamp, "datetime"), (stamp, "text")]
    out += [("in_progress", "text"), ("link_click", "text"), ("Acme Corp", "text"), (None, "count")]
    return out


def run_node(script: str) -> str:
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_and_python_formatters_agree() -> None:
    cases = values()
    script = (
        f"import {{ formatValue }} from {json.dumps(MODULE.as_uri())};\n"
        f"const cases = {json.dumps(cases)};\n"
        "console.log(JSON.stringify(cases.map(([v, f]) => formatValue(v, f))));"
    )
    shown = json.loads(run_node(script))
    expected = [format_value(v, f) for v, f in cases]
    diff = [(c, s, e) for c, s, e in zip(cases, shown, expected, strict=True) if s != e]
    assert not diff, diff[:10]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_field_formats_are_pythons() -> None:
    script = (
        f"import {{ FIELD_FORMATS, FORMATS, formatField }} from {json.dumps(MODULE.as_uri())};\n"
        "console.log(JSON.stringify({fields: FIELD_FORMATS, formats: FORMATS, shown: ["
        "formatField('conversion', 0.727), formatField('status', 'in_progress'),"
        "formatField('project', 'acme_rollout'), formatField('weight', 0.1),"
        "formatField('avg_session_seconds', 741.7), formatField('last_visit', null),"
        "formatField('rule', 'no session in the 14 days before 2026-12-02T19:23:54.668815Z')]}));"
    )
    got = json.loads(run_node(script))
    # the page's table of field formats gives each field the format Python gives it (the
    # registry's declaration, else FIELD_FORMATS), and leaves none of FIELD_FORMATS out
    assert {key: format_for(key) for key in got["fields"]} == got["fields"]
    assert set(FIELD_FORMATS) <= set(got["fields"])
    assert tuple(got["formats"]) == FORMATS
    assert got["shown"] == [
        format_field("conversion", 0.727),
        format_field("status", "in_progress"),
        format_field("project", "acme_rollout"),
        format_field("weight", 0.1),
        format_field("avg_session_seconds", 741.7),
        format_field("last_visit", None),
        "no session in the 14 days before 2 Dec 2026 19:23",
    ]
