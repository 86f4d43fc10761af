"""Experiments bound to a workspace: who is in which group, the lift per stage and whether it is
significant, the sample size a test needs, and imported group membership.

The maths and the expressions live in ``leadledger.experiments`` (pure); this module runs them
on the workspace's engine and wraps the answers in ``Report``s (the JSON contract of every
report). The CLI (``leadledger experiment ...``) and the Workspace façade call these functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadledger.config.models import Experiment, ProjectConfig
from leadledger.errors import (
    ExperimentNotFound,
    ImportFileError,
    InvalidArgument,
    RejectedRows,
)
from leadledger.experiments import assignment, lift, stats
from leadledger.ledger.imports import batch
from leadledger.ledger.imports.read import ROW, file_sha256, read_file
from leadledger.report import Report
from leadledger.reports.legacy import check_stage, parse_as_of, skip_note
from leadledger.suggest import did_you_mean

if TYPE_CHECKING:
    from leadledger.service import Workspace

GROUPS = assignment.GROUPS
GROUPS_TABLE = "experiment_groups"
#: A sample ratio mismatch is flagged below this p-value (the usual, deliberately strict, bar:
#: the check runs on every report, and a real mismatch gives p-values far below it).
SRM_ALPHA = 0.001
#: Problems listed in the message of a rejected membership import.
SHOWN_PROBLEMS = 10

REPORT_COLUMNS = [
    "stage",
    "control_leads",
    "control_converted",
    "control_rate",
    "test_leads",
    "test_converted",
    "test_rate",
    "lift_abs",
    "lift_rel",
    "ci_low",
    "ci_high",
    "lift_rel_ci_low",
    "lift_rel_ci_high",
    "p_value",
    "test_used",
    "significant",
]
ASSIGN_COLUMNS = ["lead_id", "group", "entered_at", "email", "hash_value", "in_ledger"]


# -- lookups ----------------------------------------------------------------------------------
def find_experiment(cfg: ProjectConfig, name: str) -> Experiment:
    """The configured experiment called ``name``; ExperimentNotFound (with a hint) otherwise."""
    for exp in cfg.experiments:
        if exp.name == name:
            return exp
    names = [e.name for e in cfg.experiments]
    hint = did_you_mean(name, names) or (
        f"experiments: {', '.join(names)}"
        if names
        else "define it under 'experiments:' in leadledger.yaml"
    )
    raise ExperimentNotFound(f"no experiment '{name}' in leadledger.yaml", hint=hint)


def _check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise InvalidArgument(f"--alpha {alpha:g} is not between 0 and 1", hint="e.g. 0.05")
    return float(alpha)


def _experiment_params(exp: Experiment) -> dict[str, Any]:
    return {
        "experiment": exp.name,
        "assignment": exp.assignment,
        "population_stage": exp.stage,
        "control_share": exp.control_share if exp.assignment == "hash" else None,
        "start": exp.start,
        "end": exp.end,
        "where": {k: list(v) for k, v in exp.where.items()},
    }


# -- membership -------------------------------------------------------------------------------
def _hash_assignment(ws: Workspace, exp: Experiment, as_of: pd.Timestamp) -> pd.DataFrame:
    """The population (from the engine) with its groups (computed here, the same everywhere).
    Columns: lead_id, group, entered_at, email, hash_value, in_ledger."""
    pop = ws.store.execute(lift.population(ws.store.tables(), ws.cfg, exp, as_of=as_of))
    groups = assignment.assign(exp.name, pop["lead_id"], exp.control_share)
    out = pop.assign(group=groups["group"].to_numpy(), hash_value=groups["hash_value"].to_numpy())
    out["in_ledger"] = True
    return out[ASSIGN_COLUMNS].reset_index(drop=True)


def _imported_assignment(ws: Workspace, exp: Experiment, as_of: pd.Timestamp) -> pd.DataFrame:
    members = lift.imported_members(ws.store.table(GROUPS_TABLE), exp.name)
    expr = lift.members_with_leads(ws.store.tables(), ws.cfg, members, exp.stage, as_of=as_of)
    out = ws.store.execute(expr)
    out["hash_value"] = None
    out["in_ledger"] = out["in_ledger"].astype(bool)
    return out[ASSIGN_COLUMNS].reset_index(drop=True)


def _group_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["group"].value_counts()
    return {g: int(counts.get(g, 0)) for g in GROUPS}


def _sample_ratio_note(exp: Experiment, control: int, test: int) -> str | None:
    """The split of a hash experiment against its control_share (sample ratio mismatch)."""
    n = control + test
    if exp.assignment != "hash" or n == 0:
        return None
    p = stats.sample_ratio_p_value(control, test, exp.control_share)
    text = (
        f"sample ratio: {control:,} control of {n:,} leads = {control / n:.1%} "
        f"(control_share {exp.control_share:.1%}); chi-square p = {p:.3g}"
    )
    if p is not None and p < SRM_ALPHA:
        text += (
            " — SAMPLE RATIO MISMATCH: the groups are not split as designed (leads lost or "
            "added unevenly, e.g. a filter that depends on the group); do not trust the lift "
            "until it is explained"
        )
    return text


# -- experiment report --------------------------------------------------------------------------
def _report_stages(ws: Workspace, exp: Experiment, stage: str | None) -> list[str]:
    keys = ws.cfg.stage_keys
    first = keys.index(exp.stage)
    if stage is not None:
        check_stage(ws, stage, "stage")
        if keys.index(stage) < first:
            raise InvalidArgument(
                f"--stage {stage} comes before the experiment's stage {exp.stage}",
                hint=f"stages from {exp.stage}: {', '.join(keys[first:])}",
            )
        return [stage]
    if exp.assignment == "imported":
        # imported members need not have entered the experiment's stage: it is a result too
        return keys[first:]
    return keys[first + 1 :] or [exp.stage]


def experiment_report(
    ws: Workspace,
    name: str,
    stage: str | None = None,
    as_of: Any = None,
    alpha: float = 0.05,
) -> Report:
    """Conversion per group at each stage from the experiment's stage onward (or only
    ``stage``), the absolute and relative lift of test over control with their confidence
    intervals, and the p-value (z-test, or Fisher's exact test for small counts)."""
    exp = find_experiment(ws.cfg, name)
    alpha = _check_alpha(alpha)
    stages = _report_stages(ws, exp, stage)
    as_of_ts = parse_as_of(ws, as_of)
    tables = ws.store.tables()
    notes: list[str] = []
    if exp.assignment == "hash":
        assigned = _hash_assignment(ws, exp, as_of_ts)
        members = lift.memtable(assigned) if len(assigned) else None
    else:
        assigned = None
        members = lift.imported_members(ws.store.table(GROUPS_TABLE), exp.name)
    counts: dict[str, dict[str, int]] = {g: {} for g in GROUPS}
    if members is not None:
        frame = ws.store.execute(
            lift.conversion_by_group(tables, ws.cfg, members, stages, as_of=as_of_ts)
        )
        for rec in frame.to_dict(orient="records"):
            if rec["group"] in counts:
                counts[rec["group"]] = {k: int(v) for k, v in rec.items() if k != "group"}
    rows = []
    for s in stages:
        c = counts["control"]
        t = counts["test"]
        cmp = stats.compare(
            c.get(lift.converted_col(s), 0),
            c.get("leads", 0),
            t.get(lift.converted_col(s), 0),
            t.get("leads", 0),
            alpha=alpha,
        )
        rows.append({"stage": s, **{k: getattr(cmp, k) for k in REPORT_COLUMNS if k != "stage"}})
    df = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    level = f"{1 - alpha:.0%}"
    control_n, test_n = counts["control"].get("leads", 0), counts["test"].get("leads", 0)
    notes.append(_population_note(ws, exp, as_of_ts))
    if exp.assignment == "imported":
        lost = {g: counts[g].get("members", 0) - counts[g].get("leads", 0) for g in GROUPS}
        if sum(lost.values()):
            notes.append(
                f"{sum(lost.values()):,} imported member(s) are not in the ledger by "
                f"{as_of_ts.isoformat()} (control {lost['control']:,}, test {lost['test']:,}): "
                "left out of every rate; import their leads to count them"
            )
        if exp.start or exp.end or exp.where:
            notes.append(
                "start, end and where do not filter an imported experiment: its population is "
                "the imported members"
            )
    if control_n + test_n == 0:
        notes.append("no leads in the experiment yet: nothing to compare")
    srm = _sample_ratio_note(exp, control_n, test_n)
    if srm:
        notes.append(srm)
    notes += [
        f"rate = leads that reached the stage by {as_of_ts.isoformat()} ÷ leads in the group; "
        + skip_note(ws),
        "lift_abs = test_rate − control_rate; lift_rel = lift_abs ÷ control_rate; "
        f"ci_low/ci_high = {level} Wald interval of lift_abs (unpooled standard error); "
        f"lift_rel_ci_* = {level} Katz log interval of the rate ratio, minus 1",
        "p_value: two-sided two-proportion z-test with the pooled standard error (test_used z); "
        "Fisher's exact test when an expected cell count is below 5 (test_used fisher); "
        f"significant = p_value < {alpha:g}. The interval and the test use different standard "
        "errors and can disagree at the edge",
    ]
    if len(stages) > 1:
        notes.append(
            f"{len(stages)} stages are tested: each p-value is for its stage alone (no "
            "correction for multiple comparisons); decide the primary stage before reading "
            "the results, and report it with --stage"
        )
    fisher = [r["stage"] for r in rows if r["test_used"] == "fisher"]
    if fisher:
        notes.append(
            f"small counts at {', '.join(fisher)}: the normal approximation does not hold, "
            "Fisher's exact test is used and the Wald interval is rough"
        )
    params = {
        **_experiment_params(exp),
        "stage": stage,
        "as_of": as_of_ts,
        "alpha": alpha,
        "control_leads": control_n,
        "test_leads": test_n,
    }
    if assigned is not None:
        params["population"] = len(assigned)
    return Report(
        "experiment_report",
        params,
        df,
        notes,
        title=f"Experiment {exp.name}: test vs control",
        table_columns=[
            "stage",
            "control_leads",
            "control_rate",
            "test_leads",
            "test_rate",
            "lift_abs",
            "lift_rel",
            "ci_low",
            "ci_high",
            "p_value",
            "test_used",
            "significant",
        ],
    )


def _population_note(ws: Workspace, exp: Experiment, as_of: pd.Timestamp) -> str:
    if exp.assignment == "imported":
        return (
            f"population = the members imported for {exp.name} (leadledger experiment import) "
            f"that are in the ledger by {as_of.isoformat()}"
        )
    span = (
        f"from {exp.start.isoformat() if exp.start else 'the beginning'} to "
        f"{exp.end.isoformat() if exp.end else 'now'} ({ws.cfg.timezone})"
    )
    where = (
        "; " + ", ".join(f"{k} in ({', '.join(v)})" for k, v in exp.where.items())
        if exp.where
        else ""
    )
    return (
        f"population = leads that reached {exp.stage} {span} by {as_of.isoformat()}{where}; "
        f"control when sha256('{exp.name}:' + lead_id) < control_share "
        f"{exp.control_share:g} (see docs/experiments.md)"
    )


# -- sample size --------------------------------------------------------------------------------
def experiment_size(
    baseline: float,
    mde: float,
    power: float = 0.8,
    alpha: float = 0.05,
    relative: bool = False,
    control_share: float = 0.5,
) -> Report:
    """Leads needed per group to detect a change of ``mde`` from the ``baseline`` conversion
    rate (absolute: 0.05 → 0.06 for ``mde`` 0.01; ``relative``: 0.05 → 0.055 for 0.1) with a
    two-sided test at ``alpha`` and the given ``power``; ``control_share`` splits unevenly
    (a 10 % holdout needs many more leads in all than an even split)."""
    for flag, value in (("--baseline", baseline), ("--power", power), ("--alpha", alpha)):
        if not 0 < value < 1:
            raise InvalidArgument(f"{flag} {value:g} is not a rate strictly between 0 and 1")
    if not 0 < control_share < 1:
        raise InvalidArgument(f"--control-share {control_share:g} is not strictly between 0 and 1")
    if mde == 0:
        raise InvalidArgument("--mde 0: no sample can detect no change", hint="e.g. --mde 0.01")
    if power <= alpha:
        raise InvalidArgument(f"--power {power:g} must be above --alpha {alpha:g}")
    target = baseline * (1 + mde) if relative else baseline + mde
    if not 0 < target < 1:
        raise InvalidArgument(
            f"baseline {baseline:g} {'×' if relative else '+'} mde gives {target:g}, "
            "not a rate strictly between 0 and 1",
            hint="--mde is absolute (0.05 → 0.06 is --mde 0.01) unless --relative",
        )
    ratio = (1 - control_share) / control_share
    size = stats.sample_size(baseline, target, alpha=alpha, power=power, ratio=ratio)
    df = pd.DataFrame(
        [
            {
                "baseline": baseline,
                "target_rate": target,
                "mde_abs": target - baseline,
                "mde_rel": (target - baseline) / baseline,
                "effect_size_h": size.effect_size_h,
                "alpha": alpha,
                "power": power,
                "control_share": control_share,
                "control_leads": size.control_leads,
                "test_leads": size.test_leads,
                "total_leads": size.total_leads,
            }
        ]
    )
    notes = [
        f"leads per group to detect {baseline:.4g} → {target:.4g} with a two-sided test at "
        f"alpha {alpha:g} and power {power:.0%}: Cohen's h = 2·asin√p₂ − 2·asin√p₁ and the "
        "normal power equation (as statsmodels NormalIndPower), rounded up",
        "leads = leads entering the experiment's stage (its population), each followed until "
        "it had time to convert",
    ]
    if control_share != 0.5:
        notes.append(
            f"control_share {control_share:g}: test gets {ratio:.4g}× the control leads; an "
            "uneven split needs more leads in all than an even one"
        )
    return Report(
        "experiment_size",
        {
            "baseline": baseline,
            "mde": mde,
            "relative": relative,
            "power": power,
            "alpha": alpha,
            "control_share": control_share,
        },
        df,
        notes,
        title="Sample size per group",
    )


# -- assignment export --------------------------------------------------------------------------
def experiment_assign(
    ws: Workspace, name: str, group: str | None = None, as_of: Any = None
) -> Report:
    """Every lead of the experiment with its group, so marketing tools can hold the control
    group out (``--format csv`` exports it); ``group`` keeps one group only."""
    exp = find_experiment(ws.cfg, name)
    if group is not None and group not in GROUPS:
        raise InvalidArgument(
            f"--group '{group}' is not control or test", hint=did_you_mean(group, GROUPS)
        )
    as_of_ts = parse_as_of(ws, as_of)
    if exp.assignment == "hash":
        frame = _hash_assignment(ws, exp, as_of_ts)
    else:
        frame = _imported_assignment(ws, exp, as_of_ts)
    counts = _group_counts(frame)
    notes = [
        _population_note(ws, exp, as_of_ts),
        f"{len(frame):,} lead(s): control {counts['control']:,}, test {counts['test']:,}",
    ]
    if exp.assignment == "hash":
        srm = _sample_ratio_note(exp, counts["control"], counts["test"])
        if srm:
            notes.append(srm)
        notes.append(
            "hash_value = first 8 bytes of sha256 as a big-endian integer ÷ 2^64: a lead keeps "
            "its group on every run and engine; new leads join as they enter the population"
        )
    else:
        missing = int((~frame["in_ledger"]).sum()) if len(frame) else 0
        if missing:
            notes.append(f"{missing:,} member(s) are not in the ledger (in_ledger false)")
    if group is not None:
        frame = frame[frame["group"] == group].reset_index(drop=True)
    params = {**_experiment_params(exp), "group": group, "as_of": as_of_ts}
    return Report(
        "experiment_assign",
        params,
        frame,
        notes,
        title=f"Experiment {exp.name}: assignment",
        table_columns=["lead_id", "group", "entered_at", "email"],
    )


# -- membership import --------------------------------------------------------------------------
def parse_group_map(items: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["treatment=test", "holdout=control"]`` (or a dict) → {file value (case-folded): group}.
    ``test`` and ``control`` always map to themselves."""
    mapping = {g: g for g in GROUPS}
    if not items:
        return mapping
    pairs = (
        list(items.items())
        if isinstance(items, Mapping)
        else [tuple(x.split("=", 1)) if "=" in x else (x, "") for x in items]
    )
    for value, group in pairs:
        value, group = str(value).strip(), str(group).strip().lower()
        if not value or group not in GROUPS:
            raise InvalidArgument(
                f"--map '{value}={group}' is not VALUE=test or VALUE=control",
                hint="e.g. --map treatment=test --map holdout=control",
            )
        mapping[value.casefold()] = group
    return mapping


def _column(frame: pd.DataFrame, wanted: str, file: Path) -> str:
    def norm(c: str) -> str:
        return str(c).strip().lower().replace(" ", "_")

    for c in frame.columns:
        if c != ROW and norm(c) == wanted:
            return str(c)
    found = [str(c) for c in frame.columns if c != ROW]
    raise ImportFileError(
        f"{file}: no '{wanted}' column (found: {', '.join(found) or 'none'})",
        hint="a membership file has the columns lead_id and group (test or control)",
    )


def _text(value: Any) -> str:
    """A cell as text: None/NaN → '', 12.0 (an integer id read as a float) → '12'."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def read_membership(
    file: Path, group_map: Mapping[str, str]
) -> tuple[pd.DataFrame, list[dict[str, Any]], int]:
    """Read and check a membership file. Returns (rows: lead_id, group, row — first occurrence of
    each lead; problems: {row, column, value, expected}; duplicate rows skipped). Nothing is
    dropped silently: a row is either kept, a listed problem, or a counted exact repeat."""
    read = read_file(file)
    problems: list[dict[str, Any]] = [
        {"row": b.row, "column": None, "value": b.text, "expected": b.reason} for b in read.bad
    ]
    frame = read.frame
    if frame.empty and not problems:
        raise ImportFileError(
            f"{file}: no rows", hint="a header row lead_id,group and one row per lead"
        )
    id_col = _column(frame, "lead_id", file)
    group_col = _column(frame, "group", file)
    expected_groups = "test or control" + (
        " (or " + ", ".join(sorted(k for k in group_map if k not in GROUPS)) + ")"
        if len(group_map) > len(GROUPS)
        else ""
    )
    seen: dict[str, tuple[str, int]] = {}
    kept: list[dict[str, Any]] = []
    duplicates = 0
    for rec in frame.to_dict(orient="records"):
        row = int(rec[ROW])
        lead_id = _text(rec[id_col])
        raw_group = _text(rec[group_col])
        group = group_map.get(raw_group.casefold())
        bad = False
        if not lead_id:
            problems.append(
                {"row": row, "column": id_col, "value": "", "expected": "a lead id (not empty)"}
            )
            bad = True
        if group is None:
            problems.append(
                {
                    "row": row,
                    "column": group_col,
                    "value": raw_group,
                    "expected": expected_groups
                    + (
                        f"; map other values with --map {raw_group or 'VALUE'}=test|control"
                        if raw_group
                        else ""
                    ),
                }
            )
            bad = True
        if bad:
            continue
        assert group is not None
        if lead_id in seen:
            first_group, first_row = seen[lead_id]
            if first_group == group:
                duplicates += 1
            else:
                problems.append(
                    {
                        "row": row,
                        "column": group_col,
                        "value": raw_group,
                        "expected": f"{first_group}, as lead {lead_id} is in row {first_row}: a "
                        "lead is in one group only",
                    }
                )
            continue
        seen[lead_id] = (group, row)
        kept.append({"lead_id": lead_id, "group": group, "row": row})
    rows = pd.DataFrame(kept, columns=["lead_id", "group", "row"])
    return rows, problems, duplicates


def _reject(file: Path, problems: list[dict[str, Any]]) -> RejectedRows:
    problems = sorted(problems, key=lambda p: (p["row"] is None, p["row"] or 0))
    shown = "; ".join(
        f"row {p['row'] if p['row'] is not None else '?'}"
        + (f" column {p['column']}" if p["column"] else "")
        + f": got {p['value']!r}, expected {p['expected']}"
        for p in problems[:SHOWN_PROBLEMS]
    )
    more = len(problems) - SHOWN_PROBLEMS
    return RejectedRows(
        f"{file}: {len(problems):,} row(s) rejected, nothing imported: {shown}"
        + (f"; and {more:,} more" if more > 0 else ""),
        hint="fix the file and import it again (a membership is imported whole or not at all: "
        "a partial group list would bias the comparison)",
    )


def experiment_import(
    ws: Workspace,
    name: str,
    file: Path | str,
    group_map: Sequence[str] | Mapping[str, str] | None = None,
) -> Report:
    """Import the group membership of an ``assignment: imported`` experiment from a CSV,
    Parquet or JSON Lines file with the columns ``lead_id`` and ``group``.

    All or nothing: a row without a lead id, with a group that is not test/control (after
    ``group_map``), or moving a lead to the other group (in the file or against earlier
    imports) rejects the whole file with every problem listed by row and column. Rows already
    imported (same lead, same group) and exact repeats in the file are skipped, so importing
    the same file again changes nothing.
    """
    exp = find_experiment(ws.cfg, name)
    if exp.assignment != "imported":
        raise InvalidArgument(
            f"experiment '{name}' assigns groups by hash: there is nothing to import",
            hint="set 'assignment: imported' on it in leadledger.yaml to use a list of groups",
        )
    path = Path(file)
    mapping = parse_group_map(group_map)
    rows, problems, duplicates = read_membership(path, mapping)
    groups_table = ws.store.table(GROUPS_TABLE)
    existing = ws.store.execute(lift.imported_members(groups_table, exp.name))
    known = dict(zip(existing["lead_id"], existing["group"], strict=True))
    already = 0
    new_rows = []
    for rec in rows.to_dict(orient="records"):
        stored = known.get(rec["lead_id"])
        if stored is None:
            new_rows.append(rec)
        elif stored == rec["group"]:
            already += 1
        else:
            problems.append(
                {
                    "row": rec["row"],
                    "column": "group",
                    "value": rec["group"],
                    "expected": f"{stored}: lead {rec['lead_id']} was imported in {stored} "
                    "before, and a lead never changes group",
                }
            )
    if problems:
        raise _reject(path, problems)
    now = pd.Timestamp.now(tz="UTC")
    new = pd.DataFrame(new_rows, columns=["lead_id", "group", "row"])
    read_count = len(rows) + duplicates
    membership = pd.DataFrame(
        {
            "experiment": exp.name,
            "lead_id": new["lead_id"].astype(str),
            "group": new["group"].astype(str),
        }
    )
    batch_no = batch.write(
        ws.store,
        batch.Batch(
            kind=GROUPS_TABLE,
            sources=[
                batch.Source(
                    str(path), file_sha256(path), read_count, len(new), 0, read_count - len(new)
                )
            ],
            rows=[(GROUPS_TABLE, membership)],
            started_at=now,
            at=now,
        ),
    ).batch_no
    members = _imported_assignment(ws, exp, parse_as_of(ws, None))
    counts = _group_counts(members)
    not_in_ledger = int((~members["in_ledger"]).sum()) if len(members) else 0
    df = pd.DataFrame(
        [
            {
                "experiment": exp.name,
                "file": str(path),
                "batch_no": batch_no,
                "read": read_count,
                "added": len(new),
                "already_imported": already,
                "duplicate_rows": duplicates,
                "control_members": counts["control"],
                "test_members": counts["test"],
                "not_in_ledger": not_in_ledger,
            }
        ]
    )
    notes = [
        f"{len(new):,} membership(s) added; {already:,} already imported and {duplicates:,} "
        "repeated in the file were skipped (importing the same file again changes nothing)",
    ]
    if not_in_ledger:
        notes.append(
            f"{not_in_ledger:,} member(s) are not in the ledger yet: import their leads, or "
            "they stay out of the report"
        )
    return Report(
        "experiment_import",
        {"experiment": exp.name, "file": str(path), "map": dict(mapping)},
        df,
        notes,
        title=f"Experiment {exp.name}: membership import",
    )
