"""The executive report as one self-contained page: seed 000's six keys and the ROI, for the
C-suite (``/executive``, ``/executive/report.html``, ``/executive/report.pdf`` and
``leadledger export report``).

The numbers come from :meth:`~leadledger.service.Workspace.executive_report` (the CLI's
reports, same range); this module only draws them. The charts are plain inline SVG drawn here in
Python, not Vega-Lite: the exported file must work offline as one file, print well (vector, no
script to run before the PDF is taken) and stay small, which inlining ~1 MB of vendor JS would
not give.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from leadledger import __version__
from leadledger.errors import ChromiumNotFound, PdfFailed
from leadledger.report import Report, plain

PALETTE = ["#2f6fdf", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f"]
CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

CSS = """
:root { --ink:#1d2733; --muted:#5b6b7c; --line:#dde3ea; --accent:#2f6fdf; --good:#1f8a4c;
        --bad:#c2412d; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #fff; }
.exec { max-width: 1100px; margin: 0 auto; padding: 18px 22px; }
.exec header h1 { font-size: 22px; margin: 0; }
.exec header p { color: var(--muted); margin: 2px 0 12px; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin-bottom: 14px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.kpi .label { color: var(--muted); font-size: 11px; text-transform: uppercase;
              letter-spacing: .04em; }
.kpi .value { font-size: 22px; font-weight: 650; margin: 2px 0; }
.kpi .sub { font-size: 11px; color: var(--muted); }
.kpi .up { color: var(--good); } .kpi .down { color: var(--bad); }
.kpi .maturing { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.panel { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; min-width: 0;
         break-inside: avoid; }
.panel h2 { font-size: 13px; margin: 0 0 4px; }
.panel svg { width: 100%; height: auto; display: block; }
.panel .empty { color: var(--muted); font-style: italic; }
.exec .notes { color: var(--muted); font-size: 10.5px; margin: 12px 0 0; padding-left: 16px; }
@page { size: A4 landscape; margin: 10mm; }
@media print { .exec { padding: 0; max-width: none; } }
"""


# -- number formats ------------------------------------------------------------------------------
def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_value(value: Any, unit: str, currency: str = "") -> str:
    if _nan(value):
        return "–"
    v = float(value)
    if unit in ("rate", "ratio", "share"):
        return f"{v:.1%}"
    if unit == "per working day":
        return f"{v:,.2f}"
    if unit == "money":
        return f"{v:,.0f} {currency}".strip()
    return f"{v:,.0f}"


def _short(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    if a >= 10 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.2f}"


def _pct(v: float) -> str:
    return f"{v:.0%}" if abs(v) >= 0.1 else f"{v:.1%}"


def pct_change(ratio: Any) -> str:
    """A relative change (a ratio, 0.25) as a signed percentage ("+25.0 %"); – when missing."""
    if _nan(ratio):
        return "–"
    return f"{float(ratio) * 100:+.1f} %"


def _period_label(value: Any, period: str) -> str:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value)
    if pd.isna(ts):
        return "–"
    d = ts.date()
    if period == "month":
        return d.strftime("%b %y")
    if period == "quarter":
        return f"Q{(d.month - 1) // 3 + 1} {d:%y}"
    if period == "year":
        return f"{d:%Y}"
    return d.strftime("%d %b")


# -- inline SVG charts ---------------------------------------------------------------------------
def svg_columns(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    stacked: bool = False,
    percent: bool = False,
    lines: bool = False,
    width: int = 360,
    height: int = 190,
) -> str:
    """Vertical bars (stacked when ``stacked``) or lines, one group per label, with a legend when
    there are several series. Values that are NaN are left out."""
    n = len(labels)
    if n == 0 or not series:
        return '<p class="empty">no data in this range</p>'
    vals = [[0.0 if _nan(v) else float(v) for v in s] for _, s in series]
    if stacked:
        tops = [sum(max(s[i], 0.0) for s in vals) for i in range(n)]
        hi, lo = max([*tops, 0.0]), 0.0
    else:
        flat = [v for s in vals for v in s]
        hi, lo = max([*flat, 0.0]), min([*flat, 0.0])
    if hi == lo:
        hi = lo + 1.0
    left, right, top, bottom = 40, 6, 16 if len(series) > 1 else 6, 30
    pw, ph = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + ph * (hi - v) / (hi - lo)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img">',
        '<g font-size="9" fill="#5b6b7c">',
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#eef1f5"/>'
            f'<text x="{left - 4}" y="{y(v) + 3:.1f}" text-anchor="end">'
            f"{escape(_pct(v) if percent else _short(v))}</text>"
        )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#9aa7b4"/>'
    )
    step = pw / n
    every = max(1, math.ceil(n / 8))
    for i, lab in enumerate(labels):
        if i % every == 0:
            x = left + step * (i + 0.5)
            out.append(
                f'<text x="{x:.1f}" y="{height - bottom + 12}" text-anchor="middle">'
                f"{escape(str(lab))}</text>"
            )
    out.append("</g>")
    if lines:
        for j, s in enumerate(vals):
            pts = " ".join(f"{left + step * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(s))
            color = PALETTE[j % len(PALETTE)]
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
    else:
        bw = step * 0.72
        for i in range(n):
            base = 0.0
            for j, s in enumerate(vals):
                v = s[i]
                color = PALETTE[j % len(PALETTE)]
                if stacked:
                    x, w = left + step * i + (step - bw) / 2, bw
                    y0, y1 = y(base + max(v, 0.0)), y(base)
                    base += max(v, 0.0)
                else:
                    w = bw / len(vals)
                    x = left + step * i + (step - bw) / 2 + w * j
                    y0, y1 = (y(v), y(0)) if v >= 0 else (y(0), y(v))
                out.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{max(w - 1, 1):.1f}" '
                    f'height="{max(y1 - y0, 0):.1f}" fill="{color}">'
                    f"<title>{escape(str(labels[i]))} · {escape(series[j][0])}: "
                    f"{escape(_pct(v) if percent else f'{v:,.2f}')}</title></rect>"
                )
    if len(series) > 1:
        x = left
        for j, (name, _) in enumerate(series):
            color = PALETTE[j % len(PALETTE)]
            out.append(
                f'<rect x="{x}" y="2" width="9" height="9" fill="{color}"/>'
                f'<text x="{x + 12}" y="10" font-size="9" fill="#1d2733">{escape(name)}</text>'
            )
            x += 18 + 6 * len(name)
    out.append("</svg>")
    return "".join(out)


def svg_hbars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    percent: bool = False,
    width: int = 360,
    row: int = 18,
) -> str:
    """Horizontal bars, one per label (negative values to the left of the axis)."""
    if not labels:
        return '<p class="empty">no data in this range</p>'
    vals = [0.0 if _nan(v) else float(v) for v in values]
    hi, lo = max([*vals, 0.0]), min([*vals, 0.0])
    if hi == lo:
        hi = lo + 1.0
    left, right = 100, 46
    pw = width - left - right
    height = row * len(labels) + 6

    def x(v: float) -> float:
        return left + pw * (v - lo) / (hi - lo)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img">',
        '<g font-size="9" fill="#1d2733">',
    ]
    for i, (lab, v) in enumerate(zip(labels, vals, strict=True)):
        yy = 3 + i * row
        x0, x1 = (x(0), x(v)) if v >= 0 else (x(v), x(0))
        color = PALETTE[0] if v >= 0 else PALETTE[3]
        text = _pct(v) if percent else _short(v)
        out.append(
            f'<text x="{left - 4}" y="{yy + row / 2 + 2:.1f}" text-anchor="end">'
            f"{escape(str(lab)[:18])}</text>"
            f'<rect x="{x0:.1f}" y="{yy + 2}" width="{max(x1 - x0, 1):.1f}" height="{row - 5}" '
            f'fill="{color}"><title>{escape(str(lab))}: {escape(text)}</title></rect>'
            f'<text x="{max(x1, x(0)) + 3:.1f}" y="{yy + row / 2 + 2:.1f}">{escape(text)}</text>'
        )
    out.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="0" y2="{height}" stroke="#9aa7b4"/></g></svg>'
    )
    return "".join(out)


# -- the page --------------------------------------------------------------------------------------
def _kpi(row: Mapping[Any, Any], currency: str, period: str) -> str:
    unit = str(row["unit"])
    latest, total = row["latest"], row["total"]
    key = str(row["key"])
    if key in ("roi",):
        main, main_field = total, "total"
    elif key in ("lead_to_customer", "lead_goal", "leads_per_working_day"):
        main, main_field = (latest, "latest") if key == "lead_goal" else (total, "total")
    else:
        main, main_field = latest, "latest"
    subs = []
    if key == "lead_goal":
        subs.append(
            f"of {fmt_value(total, unit)} target this {period}"
            if not _nan(total)
            else "no goal covers this range"
        )
    elif key == "roi":
        subs.append("(attributed revenue − spend) ÷ spend, whole range")
    elif main_field == "total":
        subs.append(f"whole range · last {period}: {fmt_value(latest, unit)}")
    else:
        subs.append(
            f"{_period_label(row['latest_period'], period)} · range: {fmt_value(total, unit)}"
        )
    change = row["change_rel"]  # a ratio: 0.25 = +25 %
    if key == "lead_to_customer" and row.get("maturing"):
        # its leads are still converting: a lower rate than the cohort before is no fall
        subs.append(
            f'<span class="maturing">{escape(_period_label(row["latest_period"], period))} '
            "cohort maturing</span>"
        )
    elif key not in ("roi", "lead_goal") and not _nan(change):
        cls = "up" if float(change) >= 0 else "down"
        subs.append(f'<span class="{cls}">{pct_change(change)}</span> vs previous {period}')
    value = plain(main)
    return (
        f'<div class="kpi" data-kpi="{escape(key)}" data-field="{main_field}" '
        f'data-value="{"" if value is None else value!r}">'
        f'<div class="label">{escape(str(row["label"]))}</div>'
        f'<div class="value">{escape(fmt_value(main, unit, currency))}</div>'
        + "".join(f'<div class="sub">{s}</div>' for s in subs)
        + "</div>"
    )


def _extra(report: Report, key: str) -> pd.DataFrame:
    return report.extra[key][1] if key in report.extra else pd.DataFrame()


def _panel(title: str, svg: str, key: str) -> str:
    return f'<section class="panel" data-chart="{key}"><h2>{escape(title)}</h2>{svg}</section>'


def body(report: Report, *, currency: str = "") -> str:
    """The report's HTML fragment: KPI cards and six inline SVG charts (no script)."""
    period = str(report.params.get("period", "month"))
    rows = report.frame.to_dict(orient="records")
    cards = "".join(_kpi(r, currency, period) for r in rows)
    panels = []
    tf = _extra(report, "traffic")
    panels.append(
        _panel(
            f"Traffic per {period}",
            svg_columns(
                [_period_label(p, period) for p in tf.get("period", [])],
                [("visits", list(tf.get("visits", [])))],
            ),
            "traffic",
        )
    )
    wf = _extra(report, "per_working_day")
    if len(wf):
        piv = wf.pivot_table(
            index="period", columns="stage", values="per_working_day", sort=True
        ).sort_index()
        order = [s for s in dict.fromkeys(wf["stage"]) if s in piv.columns]
        svg = svg_columns(
            [_period_label(p, period) for p in piv.index],
            [(str(s), list(piv[s])) for s in order],
            lines=True,
        )
    else:
        svg = svg_columns([], [])
    panels.append(_panel("Entered per working day", svg, "per_working_day"))
    sf = _extra(report, "sourced")
    panels.append(
        _panel(
            "New customers: marketing vs sales sourced",
            svg_columns(
                [_period_label(p, period) for p in sf.get("period", [])],
                [
                    ("marketing", list(sf.get("marketing_sourced", []))),
                    ("sales", list(sf.get("sales_sourced", []))),
                ],
                stacked=True,
            ),
            "sourced",
        )
    )
    pf = _extra(report, "personas")
    panels.append(
        _panel(
            "MQLs by persona",
            svg_hbars([str(v) for v in pf.get("persona", [])], list(pf.get("mqls", []))),
            "personas",
        )
    )
    cf = _extra(report, "conversion")
    rates = list(cf.get("rate", []))
    mature = [bool(m) for m in cf.get("mature", [True] * len(rates))]
    series = [("mature", [r if m else float("nan") for r, m in zip(rates, mature, strict=True)])]
    if not all(mature):  # maturing cohorts apart: their rates will still grow
        series.append(
            ("maturing", [float("nan") if m else r for r, m in zip(rates, mature, strict=True)])
        )
    panels.append(
        _panel(
            "Lead → customer conversion by cohort",
            svg_columns(
                [_period_label(p, period) for p in cf.get("period", [])],
                series,
                stacked=True,
                percent=True,
            ),
            "conversion",
        )
    )
    rf = _extra(report, "roi")
    if len(rf):
        key_col = rf.columns[0]
        rf = rf[rf["roi"].notna()].sort_values("roi", ascending=False)
        svg = svg_hbars([str(v) for v in rf[key_col]], list(rf["roi"]), percent=True)
    else:
        svg = svg_hbars([], [])
    panels.append(_panel(f"ROI by channel ({report.params.get('model')})", svg, "roi"))
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    return (
        f'<div class="kpis">{cards}</div><div class="charts">{"".join(panels)}</div>'
        f'<ul class="notes">{notes}</ul>'
    )


def document(report: Report, *, project: str, currency: str) -> str:
    """The whole report as one HTML file: inline CSS and SVG, no script, no external link."""
    s, e = report.params.get("from"), report.params.get("to")
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title or 'Executive report')} · {escape(project)}</title>"
        f"<style>{CSS}</style></head><body>"
        '<div class="exec"><header>'
        f"<h1>{escape(project)}: marketing performance</h1>"
        f"<p>{escape(str(s))} to {escape(str(e))} · by {escape(str(report.params.get('period')))}"
        f" · {escape(currency)} · leadledger {escape(__version__)} · made {made}</p></header>"
        f"{body(report, currency=currency)}</div></body></html>\n"
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
