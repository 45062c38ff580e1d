"""The metrics layer's input errors (kept apart so every module can import them)."""

from __future__ import annotations


class ScopeError(ValueError):
    """Input that does not describe a scope; the message says what and where."""
