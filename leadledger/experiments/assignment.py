"""Deterministic holdout assignment: the group of a lead is a function of the experiment's name
and the lead's id, nothing else.

The rule (reproducible anywhere, see docs/experiments.md):

    u = first 8 bytes of sha256(UTF-8 of "<experiment>:<lead_id>"), as a big-endian unsigned
        64-bit integer
    value = u / 2**64, in IEEE double precision (a number in [0, 1))
    group = "control" if value < control_share else "test"

It is computed in Python, not in SQL: engines disagree on hash functions (DuckDB's ``hash`` is
not PostgreSQL's ``hashtext``, and both may change between versions), and an assignment must
never change once leads were held out. A lead keeps its group for ever, whatever the engine,
the run or the other leads; the experiment's name salts the hash, so two experiments split the
same leads independently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

GROUPS = ("control", "test")
_SCALE = 2.0**64


def hash_values(experiment: str, lead_ids: Iterable[str]) -> np.ndarray:
    """The uniform number in [0, 1) of every lead id (float64), in the order given."""
    prefix = f"{experiment}:".encode()
    digests = b"".join(
        hashlib.sha256(prefix + str(lead_id).encode("utf-8")).digest()[:8] for lead_id in lead_ids
    )
    u = np.frombuffer(digests, dtype=">u8")
    return u.astype(np.float64) / _SCALE


def hash_value(experiment: str, lead_id: str) -> float:
    """One lead's number in [0, 1): the scalar form of the rule, for documentation and tests."""
    u = int.from_bytes(hashlib.sha256(f"{experiment}:{lead_id}".encode()).digest()[:8], "big")
    return float(u) / _SCALE


def assign(experiment: str, lead_ids: Iterable[str], control_share: float) -> pd.DataFrame:
    """Columns: lead_id, group (``control`` / ``test``), hash_value; one row per id given."""
    if not 0 < control_share < 1:
        raise ValueError(f"control_share {control_share} is not strictly between 0 and 1")
    ids = [str(x) for x in lead_ids]
    values = hash_values(experiment, ids)
    groups = np.where(values < control_share, "control", "test")
    return pd.DataFrame(
        {"lead_id": pd.Series(ids, dtype=object), "group": groups, "hash_value": values}
    )
