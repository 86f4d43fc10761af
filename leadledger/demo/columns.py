"""The columns of the company's frames, built from codes without a Python loop per row: strings
(pyarrow-backed), labels picked by code, numbered ids, UTC timestamps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadledger.demo.calendar import I64

STR: object
try:  # pandas ≥ 2.3: the default "str" dtype (pyarrow-backed, NaN for missing)
    STR = pd.StringDtype("pyarrow", na_value=np.nan)
except TypeError:  # pragma: no cover - older pandas
    STR = pd.StringDtype("pyarrow")


def strings(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    return pd.Series(pd.array(arr, dtype=STR))


def pick(values: Sequence[str | None], codes: np.ndarray) -> pd.Series:
    """values[codes] as a string column; code −1 (or a None value) is missing."""
    table = pa.array([*values, None], type=pa.string())
    codes = np.where(codes < 0, len(values), codes)
    return strings(pc.take(table, pa.array(codes.astype(np.int32))))


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """prefix + zero-padded numbers, built straight into an Arrow buffer."""
    n = numbers.shape[0]
    size = len(prefix) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    rest = numbers.astype(I64)
    pos = size
    while pos > len(prefix):  # four digits at a time, from the right
        step = min(4, pos - len(prefix))
        buf[:, pos - step : pos] = _DIGITS4[rest % 10_000][:, 4 - step :]
        rest = rest // 10_000
        pos -= step
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32 if n * size < 2**31 else I64)
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    arr = pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
    return strings(arr)


#: "0000" … "9999" as bytes, one row per number
_DIGITS4 = (48 + (np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10)).astype(np.uint8)


def timestamps(t_utc: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """UTC epoch seconds → tz-aware UTC timestamps (microseconds)."""
    values = (t_utc.astype(I64) * 1_000_000).astype("datetime64[us]")
    if missing is not None:
        values[missing] = np.datetime64("NaT")
    return pd.Series(values, dtype=pd.DatetimeTZDtype("us", "UTC"))
