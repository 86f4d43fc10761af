"""CLI commands: the predictive lead score, ``leadledger model train|evaluate|predict``.

The commands are the registered reports' (``leadledger.reports.model``): ``model train``
(evaluate, then train on every labelled lead and save), ``model evaluate`` (our model vs the
naive Bayes baseline, nothing saved) and ``model predict`` (calibrated probability and reasons
per lead).
"""

from __future__ import annotations

import typer

from leadledger.cli.app import app
from leadledger.cli.common import GROUPS

model_app = typer.Typer(
    help="Predictive lead score: a calibrated gradient-boosted model learned from the project's "
    "own outcomes.\n\nExample: leadledger model train --target customer",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")
GROUPS["model"] = model_app
