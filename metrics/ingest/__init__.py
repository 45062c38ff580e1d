"""Getting portal data in: the CSV contract, validation, bulk writes and sessionization."""

from metrics.ingest.importer import (
    Importer,
    ImportRejected,
    ImportReport,
    RowError,
    import_folder,
)

__all__ = ["ImportRejected", "ImportReport", "Importer", "RowError", "import_folder"]
