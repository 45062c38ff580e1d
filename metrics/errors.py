"""The metrics layer's input errors (kept apart so every module can import them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ScopeError(ValueError):
    """Input that does not describe a scope; the message says what and where.

    One request may hold several problems (two unknown accounts and an unknown owner):
    :meth:`together` makes one error of them all, whose :attr:`problems` lists each
    (a single problem is its own list), so every caller reports them in one go.
    """

    def __init__(self, message: str, *, problems: Sequence[ScopeError] = ()) -> None:
        super().__init__(message)
        self.problems: list[ScopeError] = list(problems) or [self]

    @classmethod
    def together(cls, problems: Sequence[ScopeError]) -> ScopeError:
        """One error for ``problems``: the only one itself, or one naming them all."""
        if not problems:
            raise ValueError("no problems to report")
        if len(problems) == 1:
            return problems[0]
        flat = [p for problem in problems for p in problem.problems]
        return ScopeError("; ".join(str(p) for p in flat), problems=flat)

    def problem(self) -> dict[str, Any]:
        """This one problem as JSON: ``parameter``, ``value``, ``kind``, ``message`` and
        ``candidates`` (the names it may have meant); unknown parts are None or empty."""
        return {
            "parameter": None,
            "value": None,
            "kind": "invalid",
            "message": str(self),
            "candidates": [],
        }

    def describe_problems(self) -> list[dict[str, Any]]:
        """Every problem of this error, as :meth:`problem` gives each."""
        return [p.problem() for p in self.problems]
