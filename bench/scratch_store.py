"""A fresh store holding one data frame imported as a file: what the real-data benches scan.

Both benches change a real file (bursts or leaks added), write it in its own
format and import it through the product's importer, so the rows take the same
path as a user's file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: An average month, to count meter-months scanned.
MONTH = pd.Timedelta(days=30.44)


def imported_store(frame: pd.DataFrame, folder: Path, name: str, spec, sep: str = ",") -> Path:
    """Write ``frame`` as ``name``.csv in ``folder``, import it with ``spec`` into a new store; the store's path."""
    from data.importing import import_file
    from data.store import Store

    csv, db = folder / f"{name}.csv", folder / f"{name}.duckdb"
    frame.to_csv(csv, sep=sep, index=False)
    with Store(str(db)) as store:
        import_file(store, csv, spec, progress=False)
    return db
