"""web/static/js/state.js's link check, run in Node (skipped without it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parent.parent / "web" / "static" / "js" / "state.js"
NODE = shutil.which("node")


def check(query: str) -> dict:
    script = (
        f"import {{ checkState, readState }} from {json.dumps(MODULE.as_uri())};\n"
        f"console.log(JSON.stringify(checkState(readState({json.dumps(query)}), "
        "{ranges: ['last_30_days', 'this_month']})));"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize(
    ("query", "problems", "kept"),
    [
        ("range=bogus&from=2026-13-01&partner_type=x&owner=tm_01",
         ["range 'bogus'", "from '2026-13-01'", "partner_type 'x'"], {"owner": "tm_01"}),
        ("from=2026-03-01", ["from '2026-03-01' needs to as well"], {"from": ""}),
        ("from=2026-03-05&to=2026-03-01", ["is after to '2026-03-01'"], {"to": ""}),
        ("from=2026-03-01&to=2026-02-30", ["to '2026-02-30' is not a date"], {"from": ""}),
        ("as_of=zzz&range=this_month", ["as_of 'zzz'"], {"range": "this_month"}),
        ("as_of=2026-11-22T10:00:00Z&from=2026-03-01&to=2026-03-31", [],
         {"as_of": "2026-11-22T10:00:00Z", "from": "2026-03-01", "to": "2026-03-31"}),
    ],
)  # fmt: skip
def test_bad_link_parameters_are_all_named_and_left_out(
    query: str, problems: list[str], kept: dict[str, str]
) -> None:
    result = check(query)
    assert len(result["problems"]) == len(problems), result
    for said, expected in zip(result["problems"], problems, strict=True):
        assert expected in said
    for key, value in kept.items():
        assert result["state"][key] == value
