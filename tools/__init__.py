"""Thin, typed adapters from the metrics layer to the agent (LangChain tools).

A tool resolves names to entities, builds a :class:`~metrics.scope.Scope`
inside the caller's fixed workspace and filters, calls one metrics function,
and returns a compact JSON envelope with provenance. Tools never compute a
metric themselves.
"""

from tools.catalog import TOOL_NAMES, build_tools, run_tool
from tools.context import ToolContext

__all__ = ["TOOL_NAMES", "ToolContext", "build_tools", "run_tool"]
