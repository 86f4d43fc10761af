"""Merging per-group aggregates into one table, where a blank group value is a group too.

Breakdowns group by lead fields that may be empty (a lead with no channel). A plain equi-join on
the keys drops them, because NULL = NULL is not true in SQL: the blank group's counts came out as
0. Keys are matched with ``IS NOT DISTINCT FROM`` (Ibis ``identical_to``) instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir


def same_keys(left: ir.Table, right: ir.Table, keys: Sequence[str]) -> list[ir.BooleanValue]:
    """Join predicates: each key equal, or both NULL."""
    return [left[k].identical_to(right[k]) for k in keys]


def left_join_on_keys(left: ir.Table, right: ir.Table, keys: Sequence[str]) -> ir.Table:
    """``left`` with ``right``'s other columns, matched on ``keys`` (NULL matches NULL)."""
    joined = left.left_join(right, same_keys(left, right, keys))
    return joined.drop(*[f"{k}_right" for k in keys if f"{k}_right" in joined.columns])


def merge_on_keys(parts: Sequence[ir.Table], keys: Sequence[str]) -> ir.Table:
    """Every key combination found in any part, with the columns of all parts (NULL where a part
    has no row for that combination)."""
    grid = parts[0].select(*keys)
    for part in parts[1:]:
        grid = grid.union(part.select(*keys))
    out = grid.distinct()
    for part in parts:
        out = left_join_on_keys(out, part, keys)
    return out
