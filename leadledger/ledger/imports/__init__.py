"""The one write path into the ledger.

- :mod:`~leadledger.ledger.imports.read`: CSV (any delimiter, detected encoding), Parquet and
  JSON Lines into text columns, every record with its place in the file;
- :mod:`~leadledger.ledger.imports.mapping`: mapping files and the shipped presets;
- :mod:`~leadledger.ledger.imports.validate`: types, dates, required fields and the kinds'
  checks — pure, a frame in, typed rows and problems out;
- :mod:`~leadledger.ledger.imports.batch`: THE writer — a batch's rows, its ``imports`` rows,
  ``quarantine.csv`` and ``report.json``, in one transaction;
- :mod:`~leadledger.ledger.imports.files`: a file import (read → map → validate → batch);
- :mod:`~leadledger.ledger.imports.events`: ``POST /api/v1/events`` and the website form hook
  (validate → batch).
"""
