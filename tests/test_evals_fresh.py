"""The fresh-questions script: its question file format and its guard on the split seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.dataset import SPECS
from evals.fresh import main, read_questions


def test_follow_ups_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text("# written before asking\nwho never logged in?\n\n+ and last month?\n")
    assert read_questions(path) == [("who never logged in?", False), ("and last month?", True)]


@pytest.mark.parametrize("split", sorted(SPECS))
def test_a_split_seed_is_refused(tmp_path: Path, split: str) -> None:
    """Fresh questions on the dev or test seed would not be fresh."""
    path = tmp_path / "q.txt"
    path.write_text("who never logged in?\n")
    with pytest.raises(SystemExit):
        main([str(path), "--seed", str(SPECS[split].seed), "--as-of", "2026-12-03"])
