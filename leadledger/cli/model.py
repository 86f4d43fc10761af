"""CLI commands: the predictive lead score (registered on the main app by leadledger.cli.main).

``model train`` (evaluate, then train on every labelled lead and save), ``model evaluate`` (our
model vs the naive Bayes baseline, nothing saved) and ``model predict`` (calibrated probability
and reasons per lead).
"""

from __future__ import annotations

from typing import Annotated

import typer

from leadledger.cli.main import FormatOpt, ProjectOpt, _check_format, _workspace, app, busy
from leadledger.cli.output import print_report

model_app = typer.Typer(
    help="Predictive lead score: a calibrated gradient-boosted model learned from the project's "
    "own outcomes.\n\nExample: leadledger model train --target customer",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")

NameOpt = Annotated[
    str, typer.Option("--name", help="Model name (saved under models/NAME/ in the project).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="As of this time (date or timestamp, project time zone). Training default: the "
        "ledger's last event; predict default: now.",
        show_default=False,
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target", help="Outcome stage to predict (default customer).", show_default=False
    ),
]
DecisionOpt = Annotated[
    float | None,
    typer.Option(
        "--decision-days",
        help="Features as of this many days after the lead's creation (default 7).",
        show_default=False,
    ),
]
WindowOpt = Annotated[
    float | None,
    typer.Option(
        "--window-days",
        help="Outcome window: reached the target within this many days of creation (default 180).",
        show_default=False,
    ),
]
SplitOpt = Annotated[
    str | None,
    typer.Option(
        "--split",
        help="time (train on the earlier leads, test on the latest; default) or kfold "
        "(stratified cross-validation).",
        show_default=False,
    ),
]
TestShareOpt = Annotated[
    float | None,
    typer.Option(
        "--test-share", help="Share of the latest leads tested (default 0.25).", show_default=False
    ),
]
FoldsOpt = Annotated[
    int | None,
    typer.Option("--folds", help="Folds of --split kfold (default 5).", show_default=False),
]
TreesOpt = Annotated[
    int | None,
    typer.Option("--trees", help="Boosting rounds (default 400).", show_default=False),
]
CalibrationOpt = Annotated[
    str | None,
    typer.Option(
        "--calibration",
        help="auto (the lowest cross-fitted calibration error; default), none, isotonic or "
        "sigmoid.",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Random seed (default 0).", show_default=False)
]


@model_app.command("train")
def train(
    target: TargetOpt = None,
    decision_days: DecisionOpt = None,
    window_days: WindowOpt = None,
    split: SplitOpt = None,
    test_share: TestShareOpt = None,
    folds: FoldsOpt = None,
    trees: TreesOpt = None,
    calibration: CalibrationOpt = None,
    seed: SeedOpt = None,
    name: NameOpt = "default",
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Train the predictive score: evaluate it against the naive Bayes baseline on a
    time-ordered split, then train on every lead with a known outcome and save the model,
    its calibration and its metadata under models/NAME/.

    Example: leadledger model train --target customer --decision-days 7 --window-days 180
    """
    from leadledger.model_reports import model_train

    _check_format(fmt)
    with _workspace(project) as ws, busy("training", show=fmt == "table") as step:
        report = model_train(
            ws, name=name, as_of=as_of, progress=step, target=target,
            decision_days=decision_days, window_days=window_days, split=split,
            test_share=test_share, folds=folds, trees=trees, calibration=calibration, seed=seed,
        )  # fmt: skip
    print_report(report, fmt)


@model_app.command("evaluate")
def evaluate(
    target: TargetOpt = None,
    decision_days: DecisionOpt = None,
    window_days: WindowOpt = None,
    split: SplitOpt = None,
    test_share: TestShareOpt = None,
    folds: FoldsOpt = None,
    trees: TreesOpt = None,
    calibration: CalibrationOpt = None,
    seed: SeedOpt = None,
    name: NameOpt = "default",
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Compare the predictive score with the naive Bayes baseline on the same split: ROC AUC,
    PR AUC, Brier score, calibration error, and a reliability table. Nothing is saved; options
    not given are those of the saved model NAME, if any.

    Example: leadledger model evaluate --split kfold --folds 5
    """
    from leadledger.model_reports import model_evaluate

    _check_format(fmt)
    with _workspace(project) as ws, busy("evaluating", show=fmt == "table") as step:
        report = model_evaluate(
            ws, name=name, as_of=as_of, progress=step, target=target,
            decision_days=decision_days, window_days=window_days, split=split,
            test_share=test_share, folds=folds, trees=trees, calibration=calibration, seed=seed,
        )  # fmt: skip
    print_report(report, fmt)


@model_app.command("predict")
def predict(
    lead: Annotated[
        list[str] | None,
        typer.Option("--lead", help="Only this lead (repeatable).", show_default=False),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Only the N most likely leads.", show_default=False),
    ] = None,
    name: NameOpt = "default",
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Calibrated probability of reaching the model's target stage, with the top 3 reasons,
    for every lead (or --lead), highest first.

    Example: leadledger model predict --limit 20
    """
    from leadledger.model_reports import model_predict

    _check_format(fmt)
    with _workspace(project) as ws, busy("scoring", show=fmt == "table"):
        report = model_predict(ws, name=name, as_of=as_of, lead_ids=lead, limit=limit)
    print_report(report, fmt)
