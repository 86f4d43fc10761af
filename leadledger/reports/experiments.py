"""The experiment reports: ``experiment report`` (the lift per stage and whether it is
significant), ``experiment size`` (the sample a test needs; no project), ``experiment assign``
(who is in which group) and ``experiment import`` (an imported group membership; it writes).

The maths and the expressions live in ``leadledger.experiments`` (pure), the membership file's
reading and checks in ``leadledger.experiments.membership``; here they run on the project's
engine. ``experiment import`` records a membership through :func:`record_membership`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BeforeValidator, Field, ValidationInfo

from leadledger.config.models import Experiment, ProjectConfig
from leadledger.errors import ExperimentNotFound, InvalidArgument
from leadledger.experiments import assignment, lift, stats
from leadledger.experiments.membership import (
    against_earlier,
    parse_group_map,
    read_membership,
    rejection,
)
from leadledger.ledger.imports import batch
from leadledger.ledger.imports.read import file_sha256
from leadledger.ledger.store import Store
from leadledger.reports.common import as_of_instant, check_stage, skip_note
from leadledger.reports.context import Ctx
from leadledger.reports.params import AsOf, BadParam, Params, Surface, choice
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.suggest import did_you_mean

__all__ = [
    "ExperimentAssignParams",
    "ExperimentImportParams",
    "ExperimentReportParams",
    "ExperimentSizeParams",
    "find_experiment",
    "record_membership",
]

GROUPS = assignment.GROUPS
GROUPS_TABLE = "experiment_groups"
#: A sample ratio mismatch is flagged below this p-value (the usual, deliberately strict, bar:
#: the check runs on every report, and a real mismatch gives p-values far below it).
SRM_ALPHA = 0.001

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
SIZE_COLUMNS = (
    "baseline",
    "target_rate",
    "mde_abs",
    "mde_rel",
    "effect_size_h",
    "alpha",
    "power",
    "control_share",
    "control_leads",
    "test_leads",
    "total_leads",
)
ASSIGN_COLUMNS = ["lead_id", "group", "entered_at", "email", "hash_value", "in_ledger"]
IMPORT_COLUMNS = (
    "experiment",
    "file",
    "batch_no",
    "read",
    "added",
    "already_imported",
    "duplicate_rows",
    "control_members",
    "test_members",
    "not_in_ledger",
)


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


def _rate(message: str, hint: str | None = None) -> BeforeValidator:
    """A number strictly between 0 and 1; else ``message`` (``{flag}``, ``{value}`` as ``:g``)."""

    def parse(value: Any, info: ValidationInfo) -> float:
        number = float(value)
        if not 0 < number < 1:
            exc = BadParam(message, f"{number:g}", hint)
            exc.field = info.field_name
            raise exc
        return number

    return BeforeValidator(parse)


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


Name = Annotated[
    str, Surface(argument=True), Field(description="The experiment's name in leadledger.yaml.")
]
ExperimentAsOf = Annotated[
    AsOf,
    Field(description="Use the ledger as it was at this time (default now), project time zone."),
]


# -- membership -------------------------------------------------------------------------------
def _hash_assignment(ctx: Ctx, exp: Experiment, as_of: pd.Timestamp) -> pd.DataFrame:
    """The population (from the engine) with its groups (computed here, the same everywhere).
    Columns: lead_id, group, entered_at, email, hash_value, in_ledger."""
    pop: pd.DataFrame = ctx.execute(lift.population(ctx.tables(), ctx.cfg, exp, as_of=as_of))
    groups = assignment.assign(exp.name, pop["lead_id"], exp.control_share)
    out = pop.assign(group=groups["group"].to_numpy(), hash_value=groups["hash_value"].to_numpy())
    out["in_ledger"] = True
    return out[ASSIGN_COLUMNS].reset_index(drop=True)


def _imported_assignment(ctx: Ctx, exp: Experiment, as_of: pd.Timestamp) -> pd.DataFrame:
    members = lift.imported_members(ctx.table(GROUPS_TABLE), exp.name)
    expr = lift.members_with_leads(ctx.tables(), ctx.cfg, members, exp.stage, as_of=as_of)
    out: pd.DataFrame = ctx.execute(expr)
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


def _population_note(ctx: Ctx, exp: Experiment, as_of: pd.Timestamp) -> str:
    if exp.assignment == "imported":
        return (
            f"population = the members imported for {exp.name} (leadledger experiment import) "
            f"that are in the ledger by {as_of.isoformat()}"
        )
    span = (
        f"from {exp.start.isoformat() if exp.start else 'the beginning'} to "
        f"{exp.end.isoformat() if exp.end else 'now'} ({ctx.cfg.timezone})"
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


# -- experiment report --------------------------------------------------------------------------
class ExperimentReportParams(Params):
    """``leadledger experiment report NAME``."""

    name: Name
    stage: Annotated[
        str | None,
        Field(description="Only this stage (the primary metric); default every stage after the "
                          "experiment's."),
    ] = None  # fmt: skip
    as_of: ExperimentAsOf = None
    alpha: Annotated[
        float,
        _rate("{flag} {value} is not between 0 and 1", "e.g. 0.05"),
        Surface(query=(("gt", 0), ("lt", 1))),
        Field(description="Significance level; the intervals are 1 − alpha."),
    ] = 0.05

    def resolve(self, ctx: Ctx) -> Resolved[ExperimentReportParams]:
        _report_stages(ctx, find_experiment(ctx.cfg, self.name), self.stage)
        return Resolved(self)


def _report_stages(ctx: Ctx, exp: Experiment, stage: str | None) -> list[str]:
    keys = ctx.cfg.stage_keys
    first = keys.index(exp.stage)
    if stage is not None:
        check_stage(ctx, stage, "--stage")
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


@report("experiment_report", params=ExperimentReportParams, columns=REPORT_COLUMNS,
        cli="experiment report", api="/experiments/{name}")  # fmt: skip
def report_experiment(ctx: Ctx, p: ExperimentReportParams) -> Report:
    """Conversion per group at each stage: test vs control, absolute and relative lift, 95 %
    confidence interval and p-value (two-proportion z-test; Fisher's exact test for small
    counts), with a sample ratio check.

    Example: leadledger experiment report nurture_2026 --stage sql
    """
    exp = find_experiment(ctx.cfg, p.name)
    alpha = p.alpha
    stages = _report_stages(ctx, exp, p.stage)
    as_of_ts = as_of_instant(ctx, p.as_of)
    tables = ctx.tables()
    notes: list[str] = []
    if exp.assignment == "hash":
        assigned = _hash_assignment(ctx, exp, as_of_ts)
        members = lift.memtable(assigned) if len(assigned) else None
    else:
        assigned = None
        members = lift.imported_members(ctx.table(GROUPS_TABLE), exp.name)
    counts: dict[str, dict[str, int]] = {g: {} for g in GROUPS}
    if members is not None:
        frame = ctx.execute(
            lift.conversion_by_group(tables, ctx.cfg, members, stages, as_of=as_of_ts)
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
    notes.append(_population_note(ctx, exp, as_of_ts))
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
        + skip_note(ctx),
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
        "stage": p.stage,
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


# -- sample size --------------------------------------------------------------------------------
def _nonzero(value: Any, info: ValidationInfo) -> float:
    number = float(value)
    if number == 0:
        exc = BadParam("{flag} 0: no sample can detect no change", value, "e.g. {flag} 0.01")
        exc.field = info.field_name
        raise exc
    return number


class ExperimentSizeParams(Params):
    """``leadledger experiment size`` (needs no project)."""

    baseline: Annotated[
        float,
        _rate("{flag} {value} is not a rate strictly between 0 and 1"),
        Field(description="Current conversion rate, e.g. 0.05."),
    ]
    mde: Annotated[
        float,
        BeforeValidator(_nonzero),
        Field(description="Minimum detectable effect: absolute (0.01 = 0.05 → 0.06) unless "
                          "--relative."),
    ]  # fmt: skip
    power: Annotated[
        float,
        _rate("{flag} {value} is not a rate strictly between 0 and 1"),
        Field(description="Statistical power."),
    ] = 0.8
    alpha: Annotated[
        float,
        _rate("{flag} {value} is not a rate strictly between 0 and 1"),
        Field(description="Two-sided significance level."),
    ] = 0.05
    relative: Annotated[bool, Field(description="--mde is relative (0.1 = 0.05 → 0.055).")] = False
    control_share: Annotated[
        float,
        _rate("{flag} {value} is not strictly between 0 and 1"),
        Field(description="Share of leads in control (0.1 = 10 % holdout)."),
    ] = 0.5

    def project_use(self) -> str:
        return "none"

    def resolve(self, ctx: Ctx) -> Resolved[ExperimentSizeParams]:
        if self.power <= self.alpha:
            raise InvalidArgument(f"--power {self.power:g} must be above --alpha {self.alpha:g}")
        target = self.target_rate()
        if not 0 < target < 1:
            raise InvalidArgument(
                f"baseline {self.baseline:g} {'×' if self.relative else '+'} mde gives "
                f"{target:g}, not a rate strictly between 0 and 1",
                hint="--mde is absolute (0.05 → 0.06 is --mde 0.01) unless --relative",
            )
        return Resolved(self)

    def target_rate(self) -> float:
        """The rate to detect: the baseline moved by the minimum detectable effect."""
        return self.baseline * (1 + self.mde) if self.relative else self.baseline + self.mde


@report("experiment_size", params=ExperimentSizeParams, columns=SIZE_COLUMNS,
        cli="experiment size")  # fmt: skip
def report_experiment_size(ctx: Ctx, p: ExperimentSizeParams) -> Report:
    """Leads needed per group (and in all) to detect the effect with a two-sided test at the
    given power (Cohen's h, as statsmodels). Needs no project (--project is accepted and
    unused).

    Example: leadledger experiment size --baseline 0.05 --mde 0.01
    """
    baseline, power, alpha, control_share = p.baseline, p.power, p.alpha, p.control_share
    target = p.target_rate()
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
            "mde": p.mde,
            "relative": p.relative,
            "power": power,
            "alpha": alpha,
            "control_share": control_share,
        },
        df,
        notes,
        title="Sample size per group",
    )


# -- assignment export --------------------------------------------------------------------------
class ExperimentAssignParams(Params):
    """``leadledger experiment assign NAME``."""

    name: Name
    group: Annotated[
        str | None,
        BeforeValidator(choice(GROUPS, message="{flag} '{value}' is not control or test")),
        Field(description="Only this group: control or test."),
    ] = None
    as_of: ExperimentAsOf = None

    def resolve(self, ctx: Ctx) -> Resolved[ExperimentAssignParams]:
        find_experiment(ctx.cfg, self.name)
        return Resolved(self)


@report("experiment_assign", params=ExperimentAssignParams, columns=ASSIGN_COLUMNS,
        cli="experiment assign")  # fmt: skip
def report_experiment_assign(ctx: Ctx, p: ExperimentAssignParams) -> Report:
    """The experiment's leads with their group, for holding the control group out of a
    campaign in the marketing tool (--format csv exports every lead).

    Example: leadledger experiment assign nurture_2026 --group control --format csv > holdout.csv
    """
    exp = find_experiment(ctx.cfg, p.name)
    as_of_ts = as_of_instant(ctx, p.as_of)
    if exp.assignment == "hash":
        frame = _hash_assignment(ctx, exp, as_of_ts)
    else:
        frame = _imported_assignment(ctx, exp, as_of_ts)
    counts = _group_counts(frame)
    notes = [
        _population_note(ctx, exp, as_of_ts),
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
    if p.group is not None:
        frame = frame[frame["group"] == p.group].reset_index(drop=True)
    params = {**_experiment_params(exp), "group": p.group, "as_of": as_of_ts}
    return Report(
        "experiment_assign",
        params,
        frame,
        notes,
        title=f"Experiment {exp.name}: assignment",
        table_columns=["lead_id", "group", "entered_at", "email"],
    )


# -- membership import --------------------------------------------------------------------------
def _map_items(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    """``--map VALUE=GROUP`` (repeatable), or a dict {value: group} from Python."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple(f"{k}={v}" for k, v in value.items())
    return tuple(str(x) for x in value)


class ExperimentImportParams(Params):
    """``leadledger experiment import NAME FILE``."""

    name: Name
    file: Annotated[
        Path,
        Surface(argument=True),
        Field(description="CSV, Parquet or JSON Lines with columns lead_id, group."),
    ]
    group_map: Annotated[
        tuple[str, ...],
        BeforeValidator(_map_items),
        Surface(flag="--map", raw=list[str] | None, show_default=False),
        Field(description="Map a group value of the file: VALUE=test or VALUE=control "
                          "(repeatable)."),
    ] = ()  # fmt: skip

    def resolve(self, ctx: Ctx) -> Resolved[ExperimentImportParams]:
        exp = find_experiment(ctx.cfg, self.name)
        if exp.assignment != "imported":
            raise InvalidArgument(
                f"experiment '{self.name}' assigns groups by hash: there is nothing to import",
                hint="set 'assignment: imported' on it in leadledger.yaml to use a list of groups",
            )
        return Resolved(self)


@report("experiment_import", params=ExperimentImportParams, columns=IMPORT_COLUMNS,
        writes=True, cli="experiment import")  # fmt: skip
def report_experiment_import(ctx: Ctx, p: ExperimentImportParams) -> Report:
    """Import the group membership of an 'assignment: imported' experiment. Bad rows reject the
    whole file (each listed by row and column); re-importing a file changes nothing.

    Example: leadledger experiment import webinar_q3 groups.csv --map holdout=control
    """
    exp = find_experiment(ctx.cfg, p.name)
    path = Path(p.file)
    mapping = parse_group_map(list(p.group_map))
    rows, problems, duplicates = read_membership(path, mapping)
    existing = ctx.execute(lift.imported_members(ctx.table(GROUPS_TABLE), exp.name))
    known = dict(zip(existing["lead_id"], existing["group"], strict=True))
    new, already, moved = against_earlier(rows, known)
    problems += moved
    if problems:
        raise rejection(path, problems)
    read_count = len(rows) + duplicates
    batch_no = record_membership(ctx.store, exp.name, path, new, read_count)
    members = _imported_assignment(ctx, exp, ctx.now())
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


def record_membership(
    store: Store, experiment: str, file: Path, new: pd.DataFrame, read: int
) -> int:
    """Record an imported membership through the one batch writer (``ledger.imports.batch``):
    the ``new`` members (lead_id, group) of ``experiment`` and the ``imports`` row of the
    ``read`` rows of ``file``, in one transaction. Returns the batch number."""
    now = pd.Timestamp.now(tz="UTC")
    membership = pd.DataFrame(
        {
            "experiment": experiment,
            "lead_id": new["lead_id"].astype(str),
            "group": new["group"].astype(str),
        }
    )
    source = batch.Source(str(file), file_sha256(file), read, len(new), 0, read - len(new))
    done = batch.write(
        store,
        batch.Batch(
            kind=GROUPS_TABLE,
            sources=[source],
            rows=[(GROUPS_TABLE, membership)],
            started_at=now,
            at=now,
        ),
    )
    return done.batch_no
