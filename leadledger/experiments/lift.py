"""An experiment's population and its conversion per group, as Ibis expressions.

- **Population** of a hash-assigned experiment: the leads that reached the experiment's stage on
  a day in [start, end] (project time zone; an open bound when not set), by the as-of instant,
  and whose current lead fields match ``where``. "Reached" is the journeys' definition: the first
  entry, or, when skipped stages count (``count_skipped_stages``), the first entry into a later
  stage; it is the cohort definition of ``report conversion --from-stage``.
- **Members** of an imported experiment: its rows in ``experiment_groups``.
- **Conversion per group**: the members joined with their journeys; a stage is converted when
  the lead reached it by the as-of instant.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import Experiment, ProjectConfig
from leadledger.ledger.derived import Tables, in_local_days, journeys, match_where, reached_col


def converted_col(stage: str) -> str:
    """The column of :func:`conversion_by_group` counting the leads that reached ``stage``."""
    return f"reached_{stage}"


def _journeys(tables: Tables, cfg: ProjectConfig, fields: Sequence[str], as_of: object) -> ir.Table:
    return journeys(tables, cfg, fields=fields, side_states=False, as_of=as_of)


def population(
    tables: Tables, cfg: ProjectConfig, experiment: Experiment, *, as_of: object
) -> ir.Table:
    """The leads in a hash-assigned experiment. Columns: lead_id, entered_at (when the lead
    reached the experiment's stage), email; ordered by entered_at, lead_id."""
    fields = list(experiment.where)
    j = _journeys(tables, cfg, [*fields, "email"], as_of)
    entered = j[reached_col(experiment.stage)]
    # open-ended when start or end is empty
    pop = j.filter(
        in_local_days(entered, experiment.start, experiment.end) & match_where(j, experiment.where)
    )
    return pop.select(
        lead_id=pop.lead_id, entered_at=pop[reached_col(experiment.stage)], email=pop.email
    ).order_by(["entered_at", "lead_id"])


def imported_members(groups: ir.Table, name: str) -> ir.Table:
    """The imported membership of one experiment. Columns: lead_id, group."""
    g = groups.filter(groups.experiment == name)
    return g.select("lead_id", "group")


def members_with_leads(
    tables: Tables, cfg: ProjectConfig, members: ir.Table, stage: str, *, as_of: object
) -> ir.Table:
    """Imported members with what the ledger knows of them. Columns: lead_id, group,
    in_ledger (the lead has a journey by the as-of instant), entered_at (when it reached
    ``stage``, null if not yet), email."""
    j = _journeys(tables, cfg, ["email"], as_of)
    joined = members.left_join(j, members.lead_id == j.lead_id)
    return joined.select(
        lead_id=members.lead_id,
        group=members["group"],
        in_ledger=j.lead_id.notnull(),
        entered_at=j[reached_col(stage)],
        email=j.email,
    ).order_by(["group", "lead_id"])


def conversion_by_group(
    tables: Tables,
    cfg: ProjectConfig,
    members: ir.Table,
    stages: Sequence[str],
    *,
    as_of: object,
) -> ir.Table:
    """One row per group of ``members`` (lead_id, group). Columns: group, members (rows of
    ``members``), leads (members with a journey in the ledger by ``as_of``), and
    ``reached_<stage>`` for every stage: the leads that reached it by ``as_of``."""
    j = _journeys(tables, cfg, (), as_of)
    joined = members.left_join(j, members.lead_id == j.lead_id)
    flat = joined.select(
        group=members["group"],
        _in_ledger=j.lead_id.notnull(),
        **{f"_r_{s}": j[reached_col(s)] for s in stages},
    )
    aggs: dict[str, ir.Value] = {
        "members": flat.count(),
        "leads": flat._in_ledger.sum().cast("int64"),
    }
    for s in stages:
        aggs[converted_col(s)] = flat[f"_r_{s}"].notnull().sum().cast("int64")
    return flat.group_by("group").agg(**aggs).order_by("group")


def memtable(frame: pd.DataFrame) -> ir.Table:
    """A hash assignment (computed in Python, see ``assignment``) as an in-memory table the
    engine can join: columns lead_id, group."""
    return ibis.memtable(
        frame[["lead_id", "group"]], schema={"lead_id": "string", "group": "string"}
    )
