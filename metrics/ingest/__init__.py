"""Getting portal data in: the CSV contract, validation, bulk writes and sessionization.

The names below are loaded on first use (PEP 562), so importing a light
submodule such as ``metrics.ingest.contract`` does not load Arrow and numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metrics.ingest.importer import (
        Importer,
        ImportRejected,
        ImportReport,
        RowError,
        import_folder,
    )

__all__ = ["ImportRejected", "ImportReport", "Importer", "RowError", "import_folder"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("metrics.ingest.importer"), name)
    raise AttributeError(f"module 'metrics.ingest' has no attribute {name!r}")
