"""The executive report for the C-suite: seed 000's six keys and the ROI on one printable page
(``/executive``, ``/executive/report.html``, ``/executive/report.pdf`` and ``leadledger export
report``).

The numbers come from the ``executive`` report (the CLI's reports, same range); this module only
lays them out: KPI cards and six charts, the charts being the dashboard's Vega-Lite specs
(``leadledger.web.charts``) drawn to static SVG offline, so that the exported file works as one
file with no script, prints in vector, and stays small. The layout is the Jinja template
``executive_report.html`` (its blocks in ``_executive.html``), which a project may override in
its own ``templates/`` folder.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from leadledger import __version__
from leadledger.errors import ChromiumNotFound, PdfFailed
from leadledger.formatting import missing, period_label, signed_percent, unit_value
from leadledger.reports.result import Report, plain
from leadledger.web import charts
from leadledger.web.templating import STATIC, environment

CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The report's own style sheet (inlined in the exported file, linked by the page).
CSS = (STATIC / "executive.css").read_text(encoding="utf-8")


# -- the blocks ------------------------------------------------------------------------------------
def _kpi(row: Mapping[Any, Any], currency: str, period: str) -> dict[str, Any]:
    unit = str(row["unit"])
    latest, total = row["latest"], row["total"]
    key = str(row["key"])
    if key in ("roi",):
        main, main_field = total, "total"
    elif key in ("lead_to_customer", "lead_goal", "leads_per_working_day"):
        main, main_field = (latest, "latest") if key == "lead_goal" else (total, "total")
    else:
        main, main_field = latest, "latest"
    subs: list[dict[str, str | None]] = []

    def sub(text: str, cls: str | None = None, after: str = "") -> None:
        subs.append({"text": text, "cls": cls, "after": after})

    if key == "lead_goal":
        sub(
            f"of {unit_value(total, unit)} target this {period}"
            if not missing(total)
            else "no goal covers this range"
        )
    elif key == "roi":
        sub("(attributed revenue − spend) ÷ spend, whole range")
    elif main_field == "total":
        sub(f"whole range · last {period}: {unit_value(latest, unit)}")
    else:
        label = period_label(row["latest_period"], period, short=True)
        sub(f"{label if row['latest_period'] else '–'} · range: {unit_value(total, unit)}")
    change = row["change_rel"]  # a ratio: 0.25 = +25 %
    if key == "lead_to_customer" and row.get("maturing"):
        # its leads are still converting: a lower rate than the cohort before is no fall
        sub(f"{period_label(row['latest_period'], period, short=True)} cohort maturing", "maturing")
    elif key not in ("roi", "lead_goal") and not missing(change):
        cls = "up" if float(change) >= 0 else "down"
        sub(signed_percent(change), cls, f" vs previous {period}")
    value = plain(main)
    return {
        "key": key,
        "field": main_field,
        "value": "" if value is None else repr(value),
        "label": str(row["label"]),
        "text": unit_value(main, unit, currency),
        "subs": subs,
    }


def _extra(report: Report, key: str) -> pd.DataFrame:
    return report.extra[key][1] if key in report.extra else pd.DataFrame()


def _panels(report: Report, period: str) -> list[dict[str, str]]:
    tf = _extra(report, "traffic")
    wf = _extra(report, "per_working_day")
    if len(wf):
        order = list(dict.fromkeys(wf["stage"]))
        wide = wf.pivot_table(index="period", columns="stage", values="per_working_day")
        wide = wide.reset_index()
        per_day = charts.executive_columns(
            wide, period, [(s, s) for s in order if s in wide.columns], lines=True
        )
    else:
        per_day = None
    sf = _extra(report, "sourced")
    pf = _extra(report, "personas")
    cf = _extra(report, "conversion").copy()
    if len(cf):  # maturing cohorts apart: their rates will still grow
        mature = cf["mature"].astype(bool)
        cf["rate_mature"] = cf["rate"].where(mature)
        cf["rate_maturing"] = cf["rate"].where(~mature)
        series = [("rate_mature", "mature")]
        if not mature.all():
            series.append(("rate_maturing", "maturing"))
        conversion = charts.executive_columns(cf, period, series, stacked=True, percent=True)
    else:
        conversion = None
    rf = _extra(report, "roi")
    if len(rf):
        key_col = rf.columns[0]
        rf = rf[rf["roi"].notna()].sort_values("roi", ascending=False)
        roi = charts.executive_bars(rf, label=key_col, value="roi", percent=True)
    else:
        roi = None
    specs = [
        ("traffic", f"Traffic per {period}",
         charts.executive_columns(tf, period, [("visits", "visits")]) if len(tf) else None),
        ("per_working_day", "Entered per working day", per_day),
        ("sourced", "New customers: marketing vs sales sourced",
         charts.executive_columns(
             sf, period, [("marketing_sourced", "marketing"), ("sales_sourced", "sales")],
             stacked=True,
         ) if len(sf) else None),
        ("personas", "MQLs by persona",
         charts.executive_bars(pf, label=pf.columns[0], value="mqls") if len(pf) else None),
        ("conversion", "Lead → customer conversion by cohort", conversion),
        ("roi", f"ROI by channel ({report.params.get('model')})", roi),
    ]  # fmt: skip
    return [{"key": k, "title": t, "svg": charts.svg(spec)} for k, t, spec in specs]


def blocks(report: Report, *, currency: str = "") -> dict[str, Any]:
    """What the template lays out: the KPI cards, the six charts (SVG) and the notes."""
    period = str(report.params.get("period", "month"))
    return {
        "title": report.title or "Executive report",
        "start": report.params.get("from"),
        "end": report.params.get("to"),
        "period": period,
        "kpis": [_kpi(r, currency, period) for r in report.frame.to_dict(orient="records")],
        "panels": _panels(report, period),
        "notes": list(report.notes),
    }


def body(report: Report, *, currency: str = "", project_dir: Path | None = None) -> str:
    """The report's HTML fragment: KPI cards, six static SVG charts and the notes (no script)."""
    module = environment(project_dir).get_template("_executive.html").module
    macro = getattr(module, "executive_body")  # noqa: B009 - a Jinja macro, not typed
    return str(macro(blocks(report, currency=currency)))


def document(
    report: Report, *, project: str, currency: str, project_dir: Path | None = None
) -> str:
    """The whole report as one HTML file: inline CSS and SVG, no script, no external link."""
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = environment(project_dir).get_template("executive_report.html")
    return (
        page.render(
            e=blocks(report, currency=currency),
            project=project,
            currency=currency,
            css=CSS,
            version=__version__,
            made=made,
        )
        + "\n"
    )


# -- PDF -------------------------------------------------------------------------------------------
def find_chromium() -> str | None:
    env = os.environ.get("LEADLEDGER_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    return None


def to_pdf(html: str, out: Path, *, timeout: float = 120.0) -> Path:
    """Print ``html`` to ``out`` with headless Chromium (offline: no network, no profile)."""
    exe = find_chromium()
    if exe is None:
        raise ChromiumNotFound(
            "the PDF is printed by a headless Chromium, and none was found",
            hint="install it (apt-get install chromium) or set LEADLEDGER_CHROMIUM to its path; "
            "or export --format html and print that",
        )
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leadledger-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PdfFailed(
                f"Chromium did not print the PDF within {timeout:g} s",
                hint="export --format html and print that",
            ) from exc
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise PdfFailed(
                f"Chromium failed to print the PDF (exit {done.returncode}): {tail[0]}",
                hint="export --format html and print that",
            )
    return out
