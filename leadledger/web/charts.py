"""Every chart of the dashboard and of the executive report, as a Vega-Lite spec.

A page shows a spec with the Vega library shipped in the package (``static/app.js``, only on
the pages that have a chart); the executive report's HTML and PDF export embed the same specs
rendered to static SVG offline (:func:`svg`, by ``vl-convert``: no script, nothing to fetch).
A chart never computes a number: it draws the rows of a report.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from leadledger.reports.result import plain


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a Vega-Lite ``data.values`` (JSON-safe)."""
    return [{str(k): plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def chart(spec: dict[str, Any], *, chart_id: str, title: str | None = None) -> dict[str, Any]:
    """A Vega-Lite chart for ``_chart.html`` (rendered by static/app.js with the shipped
    vega-embed; the element gets ``data-rendered="true"`` once drawn)."""
    full = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": "container",
        "height": 240,
        **spec,
    }
    # the spec sits in a <script> element: "</" must not close it (a channel named "</script>")
    text = json.dumps(full, allow_nan=False).replace("</", "<\\/")
    return {"id": chart_id, "title": title, "spec": text}


# -- funnel, money, plan ----------------------------------------------------------------------
def funnel_chart(rows: pd.DataFrame, order: list[str], title: str) -> dict[str, Any]:
    base = {
        "encoding": {
            "y": {"field": "stage", "type": "nominal", "sort": order, "title": None},
            "x": {"field": "entered", "type": "quantitative", "title": "entered"},
        }
    }
    spec = {
        "data": {"values": records(rows[["stage", "entered"]])},
        **base,
        "layer": [
            {"mark": {"type": "bar", "color": "#3b6ea8"}},
            {
                "mark": {"type": "text", "align": "left", "dx": 4},
                "encoding": {"text": {"field": "entered", "type": "quantitative"}},
            },
        ],
    }
    return chart(spec, chart_id="funnel", title=title)


def trend_chart(
    frame: pd.DataFrame, order: list[str], *, chart_id: str, title: str
) -> dict[str, Any]:
    spec = {
        "data": {"values": records(frame[["period", "stage", "per_working_day"]])},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "period", "type": "temporal", "title": None},
            "y": {
                "field": "per_working_day",
                "type": "quantitative",
                "scale": {"type": "symlog"},
                "title": "per working day",
            },
            "color": {"field": "stage", "type": "nominal", "sort": order},
            "tooltip": [
                {"field": "period", "type": "temporal"},
                {"field": "stage"},
                {"field": "per_working_day", "format": ".2f"},
            ],
        },
    }
    return chart(spec, chart_id=chart_id, title=title)


def sourced_chart(frame: pd.DataFrame) -> dict[str, Any]:
    cols = ["period", "marketing_share", "band_low", "band_high", "customers"]
    values = records(frame[[c for c in cols if c in frame]])
    x = {"field": "period", "type": "temporal", "title": None}
    spec = {
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.18, "color": "#2e8b57"},
                "encoding": {
                    "x": x,
                    "y": {"field": "band_low", "type": "quantitative"},
                    "y2": {"field": "band_high"},
                },
            },
            {
                "mark": {"type": "line", "point": True, "color": "#3b6ea8"},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "marketing_share",
                        "type": "quantitative",
                        "axis": {"format": "%"},
                        "scale": {"domain": [0, 1]},
                        "title": "marketing-sourced share of new customers",
                    },
                    "tooltip": [
                        {"field": "period", "type": "temporal"},
                        {"field": "marketing_share", "format": ".1%"},
                        {"field": "customers"},
                    ],
                },
            },
        ],
    }
    return chart(spec, chart_id="sourced", title="Customers from marketing vs the benchmark band")


def stacked_chart(
    frame: pd.DataFrame, *, x: str, y: str, color: str, chart_id: str, title: str
) -> dict[str, Any]:
    data = frame[[x, y, color]].copy()
    data[color] = data[color].astype(object).where(data[color].notna(), "(none)")
    spec = {
        "data": {"values": records(data)},
        "mark": "bar",
        "encoding": {
            "x": {"field": x, "type": "ordinal", "title": None},
            "y": {"field": y, "type": "quantitative", "title": y.replace("_", " ")},
            "color": {"field": color, "type": "nominal"},
            "tooltip": [{"field": x}, {"field": color}, {"field": y}],
        },
    }
    return chart(spec, chart_id=chart_id, title=title)


def bar_chart(
    frame: pd.DataFrame, *, x: str, y: str, chart_id: str, title: str, fmt: str = ",.2f"
) -> dict[str, Any]:
    data = frame[[x, y]].copy()
    data[x] = data[x].astype(object).where(data[x].notna(), "(none)")
    spec = {
        "data": {"values": records(data)},
        "mark": "bar",
        "encoding": {
            "y": {"field": x, "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": y, "type": "quantitative", "title": y.replace("_", " ")},
            "tooltip": [{"field": x}, {"field": y, "format": fmt}],
        },
    }
    return chart(spec, chart_id=chart_id, title=title)


def pace_chart(frame: pd.DataFrame) -> dict[str, Any]:
    """The goal's pace: actual vs required per working day, a pair of bars per stage (a
    symmetric log scale: stages differ by orders of magnitude)."""
    pf = frame[["stage", "required_per_working_day", "actual_per_working_day"]]
    long = pf.melt(id_vars=["stage"], var_name="measure", value_name="per_working_day")
    return chart(
        {
            "data": {"values": records(long)},
            "mark": "bar",
            "encoding": {
                "y": {"field": "stage", "type": "nominal", "sort": None, "title": None},
                "yOffset": {"field": "measure"},
                "x": {
                    "field": "per_working_day",
                    "type": "quantitative",
                    "scale": {"type": "symlog"},
                },
                "color": {"field": "measure", "type": "nominal"},
            },
        },
        chart_id="pace",
        title="Pace: actual vs required per working day",
    )


def heatmap_chart(frame: pd.DataFrame, key: str, *, chart_id: str, title: str) -> dict[str, Any]:
    long = frame.melt(id_vars=[key], var_name="model", value_name="credit")
    long[key] = long[key].astype(object).where(long[key].notna(), "(none)")
    spec = {
        "data": {"values": records(long)},
        "height": {"step": 22},
        "encoding": {
            "x": {"field": "model", "type": "nominal", "sort": list(frame.columns[1:])},
            "y": {"field": key, "type": "nominal", "title": None},
        },
        "layer": [
            {
                "mark": "rect",
                "encoding": {"color": {"field": "credit", "type": "quantitative"}},
            },
            {
                "mark": {"type": "text", "fontSize": 10},
                "encoding": {"text": {"field": "credit", "type": "quantitative", "format": ".1f"}},
            },
        ],
    }
    return chart(spec, chart_id=chart_id, title=title)


# -- pipeline health, scoring, experiments -----------------------------------------------------
def decay_chart(curve: pd.DataFrame) -> dict[str, Any]:
    data = curve[["bucket", "rate", "ci_low", "ci_high", "sqls", "customers", "source"]].copy()
    order = list(data["bucket"].astype(str))
    x = {"field": "bucket", "type": "nominal", "sort": order, "title": "business days to follow-up"}
    spec = {
        "data": {"values": records(data)},
        "layer": [
            {
                "mark": {"type": "bar", "color": "#3b6ea8", "opacity": 0.85},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "rate",
                        "type": "quantitative",
                        "axis": {"format": "%"},
                        "title": "SQL → customer",
                    },
                    "tooltip": [
                        {"field": "bucket"},
                        {"field": "rate", "format": ".1%"},
                        {"field": "ci_low", "format": ".1%"},
                        {"field": "ci_high", "format": ".1%"},
                        {"field": "sqls"},
                        {"field": "customers"},
                        {"field": "source"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "color": "#1d2733", "strokeWidth": 1.5},
                "encoding": {
                    "x": x,
                    "y": {"field": "ci_low", "type": "quantitative"},
                    "y2": {"field": "ci_high"},
                },
            },
        ],
    }
    return chart(spec, chart_id="decay-curve", title="Decay curve: conversion by follow-up delay")


def rate_chart(frame: pd.DataFrame, key: str, *, chart_id: str, title: str) -> dict[str, Any]:
    """A heatmap: one row per SLA and ``key`` value, one column per period, colour = breach
    rate (a line per owner and SLA would be unreadable)."""
    data = frame[["sla", "period", key, "breach_rate", "decided", "breached"]].copy()
    data[key] = data[key].astype(object).where(data[key].notna(), "(none)")
    data["row"] = data["sla"].astype(str) + " · " + data[key].astype(str)
    spec = {
        "data": {"values": records(data)},
        "height": {"step": 14},
        "mark": "rect",
        "encoding": {
            "x": {
                "field": "period",
                "type": "ordinal",
                "timeUnit": "yearmonthdate",
                "title": None,
            },
            "y": {"field": "row", "type": "nominal", "title": None},
            "color": {
                "field": "breach_rate",
                "type": "quantitative",
                "scale": {"scheme": "orangered", "domain": [0, 1]},
                "legend": {"format": "%", "title": "breach rate"},
            },
            "tooltip": [
                {"field": "sla"},
                {"field": key},
                {"field": "period", "type": "temporal"},
                {"field": "breach_rate", "format": ".1%"},
                {"field": "breached"},
                {"field": "decided"},
            ],
        },
    }
    return chart(spec, chart_id=chart_id, title=title)


def histogram_chart(frame: pd.DataFrame, threshold: float | None) -> dict[str, Any]:
    data = frame[["bin_from", "bin_to", "leads", "share"]].copy()
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "bar", "color": "#3b6ea8"},
            "encoding": {
                "x": {
                    "field": "bin_from",
                    "type": "quantitative",
                    "bin": {"binned": True},
                    "title": "score",
                },
                "x2": {"field": "bin_to"},
                "y": {"field": "leads", "type": "quantitative"},
                "tooltip": [
                    {"field": "bin_from"},
                    {"field": "bin_to"},
                    {"field": "leads"},
                    {"field": "share", "format": ".1%"},
                ],
            },
        }
    ]
    if threshold is not None:
        layers.append(
            {
                "data": {"values": [{"threshold": threshold}]},
                "mark": {"type": "rule", "color": "#c2412d", "strokeDash": [4, 3]},
                "encoding": {"x": {"field": "threshold", "type": "quantitative", "title": "score"}},
            }
        )
    spec = {"data": {"values": records(data)}, "layer": layers}
    return chart(spec, chart_id="score-histogram", title="Scores of the latest run")


def tradeoff_chart(frame: pd.DataFrame) -> dict[str, Any]:
    cols = ["threshold", "precision", "recall", "acceptance_rate"]
    long = frame[[c for c in cols if c in frame]].melt(
        id_vars=["threshold"], var_name="measure", value_name="value"
    )
    spec = {
        "data": {"values": records(long)},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "threshold", "type": "quantitative"},
            "y": {"field": "value", "type": "quantitative", "axis": {"format": "%"}, "title": None},
            "color": {"field": "measure", "type": "nominal"},
            "tooltip": [
                {"field": "threshold"},
                {"field": "measure"},
                {"field": "value", "format": ".1%"},
            ],
        },
    }
    return chart(spec, chart_id="score-tradeoff", title="Threshold trade-off")


def lift_chart(frame: pd.DataFrame, name: str) -> dict[str, Any]:
    data = frame[["stage", "lift_abs", "ci_low", "ci_high"]].copy()
    order = list(data["stage"].astype(str))
    y = {"field": "stage", "type": "nominal", "sort": order, "title": None}
    spec = {
        "data": {"values": records(data)},
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 2, "color": "#5b6b7c"},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "ci_low",
                        "type": "quantitative",
                        "axis": {"format": "%"},
                        "title": "absolute lift (test − control) with its interval",
                    },
                    "x2": {"field": "ci_high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 70, "color": "#3b6ea8"},
                "encoding": {
                    "y": y,
                    "x": {"field": "lift_abs", "type": "quantitative"},
                    "tooltip": [
                        {"field": "stage"},
                        {"field": "lift_abs", "format": ".2%"},
                        {"field": "ci_low", "format": ".2%"},
                        {"field": "ci_high", "format": ".2%"},
                    ],
                },
            },
            {
                "data": {"values": [{"zero": 0}]},
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#c2412d"},
                "encoding": {"x": {"field": "zero", "type": "quantitative"}},
            },
        ],
    }
    return chart(spec, chart_id=f"lift-{name}", title=f"{name}: lift by stage")


# -- the executive report (drawn as static SVG by :func:`svg`) ---------------------------------
#: Colours of the executive report's series (and of a negative ROI).
PALETTE = ["#2f6fdf", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f"]
#: The size of an executive chart's plot (its SVG scales to the panel).
EXEC_SIZE = {"width": 300, "height": 150}


def _labelled(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    from leadledger.formatting import period_label

    out = frame.sort_values("period").copy() if "period" in frame else frame.copy()
    if "period" in out:
        out["label"] = [period_label(p, period, short=True) for p in out["period"]]
    return out


def _exec_spec(
    values: list[dict[str, Any]], order: list[str], spec: dict[str, Any]
) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        **EXEC_SIZE,
        "config": {
            "font": "sans-serif",
            "axis": {"labelFontSize": 9, "titleFontSize": 9, "grid": True, "gridColor": "#eef1f5"},
            "legend": {"labelFontSize": 9, "orient": "top", "title": None},
            "view": {"stroke": None},
            "range": {"category": PALETTE},
        },
        "data": {"values": values},
        **spec,
        **({"usermeta": {"order": order}} if order else {}),
    }


def executive_columns(
    frame: pd.DataFrame,
    period: str,
    series: list[tuple[str, str]],
    *,
    stacked: bool = False,
    percent: bool = False,
    lines: bool = False,
) -> dict[str, Any] | None:
    """Bars per period (stacked when ``stacked``) or lines, one series per ``(column, name)``;
    None when there is nothing to draw."""
    if frame.empty:
        return None
    data = _labelled(frame, period)
    order = list(dict.fromkeys(data["label"]))
    long = (
        data[["label", *[c for c, _ in series]]]
        .rename(columns={"label": "period"})
        .melt(
            id_vars=["period"],
            value_vars=[c for c, _ in series],
            var_name="series",
            value_name="value",
        )
    )
    long["series"] = long["series"].map(dict(series))
    long = long[long["value"].notna()]
    fmt = ".1%" if percent else ",.2f"
    x = {"field": "period", "type": "ordinal", "sort": order, "title": None,
         "axis": {"labelAngle": 0, "labelOverlap": True}}  # fmt: skip
    y: dict[str, Any] = {"field": "value", "type": "quantitative", "title": None, "format": fmt}
    if percent:
        y["axis"] = {"format": "%"}
    if stacked:
        y["stack"] = "zero"
    enc: dict[str, Any] = {
        "x": x,
        "y": y,
        "tooltip": [
            {"field": "period"},
            {"field": "series"},
            {"field": "value", "format": fmt},
        ],
    }
    if len(series) > 1:
        enc["color"] = {"field": "series", "type": "nominal", "sort": [n for _, n in series]}
    else:
        enc["color"] = {"value": PALETTE[0]}
    mark: Any = {"type": "line", "point": {"size": 12}} if lines else {"type": "bar"}
    return _exec_spec(records(long), order, {"mark": mark, "encoding": enc})


def executive_bars(
    frame: pd.DataFrame, *, label: str, value: str, percent: bool = False
) -> dict[str, Any] | None:
    """Horizontal bars, one per row of ``frame`` in its order (negative values in red)."""
    if frame.empty:
        return None
    data = frame[[label, value]].copy()
    data[label] = data[label].astype(object).where(data[label].notna(), "(none)").astype(str)
    data = data.rename(columns={label: "label", value: "value"})
    data = data[data["value"].notna()]
    fmt = ".0%" if percent else ",.0f"
    order = list(data["label"])
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "label",
                "type": "nominal",
                "sort": order,
                "title": None,
                "axis": {"labelLimit": 110},
            },
            "x": {
                "field": "value",
                "type": "quantitative",
                "title": None,
                **({"axis": {"format": "%"}} if percent else {}),
            },
            "color": {
                "condition": {"test": "datum.value < 0", "value": PALETTE[3]},
                "value": PALETTE[0],
            },
            "tooltip": [{"field": "label"}, {"field": "value", "format": fmt}],
        },
    }
    return _exec_spec(records(data), [], bars) | {"height": {"step": 16}}


def svg(spec: dict[str, Any] | None) -> str:
    """``spec`` drawn as a static SVG (offline, no script): what the exported executive report
    embeds. An empty chart says so."""
    if spec is None:
        return '<p class="empty">no data in this range</p>'
    import vl_convert

    text: str = vl_convert.vegalite_to_svg(spec)
    if "xlink:" not in text.split(">", 1)[1]:  # the namespace is declared but never used
        text = text.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "", 1)
    # scale to the panel: keep the viewBox, drop the fixed size
    head, rest = text.split(">", 1)
    head = re.sub(r' (width|height)="[\d.]+"', "", head, count=2)
    return head + ">" + rest
