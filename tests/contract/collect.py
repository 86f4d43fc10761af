"""Run every contract case and return what the surfaces answered, normalised.

Used by ``test_contract.py`` (compare with the pinned answers) and by ``python -m
tests.contract.pin`` (write them). Everything runs in this process with the clock fixed at
``cases.FROZEN``; temporary folders are replaced by ``{demo}``, ``{copy}`` and ``{tmp}`` so that
the answers do not depend on where the test runs.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import html.parser
import io
import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("COLUMNS", "140")  # the terminal tables' width, tty or not

from tests.contract.cases import API, CLI, FROZEN, PAGES

GOLDEN = Path(__file__).with_name("golden")
#: Relative and absolute tolerance of every float (DuckDB's float sums may differ in the last
#: bits between runs).
TOL = 1e-9


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    import time_machine

    with time_machine.travel(FROZEN, tick=False):
        yield


# -- inputs the cases name -------------------------------------------------------------------
def write_inputs(tmp: Path) -> None:
    """The files the CLI cases read: attribution paths, a what-if scenario, more leads (two of
    them bad), an experiment membership list."""
    tmp.mkdir(parents=True, exist_ok=True)
    paths = [
        ("email > paid_search > direct", 40, 40 * 1200.0, 300),
        ("paid_search", 25, 25 * 900.0, 500),
        ("organic > email", 12, 12 * 1500.0, 120),
        ("events > paid_social > email > direct", 7, 7 * 3000.0, 40),
        ("paid_social", 3, 3 * 700.0, 260),
    ]
    for name, sep in (("paths.csv", ";"), ("paths_comma.csv", ",")):
        with (tmp / name).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=sep)
            w.writerow(["path", "total_conversions", "total_conversion_value", "total_null"])
            w.writerows(paths)
    (tmp / "scenario.yaml").write_text(
        "set:\n  close_rate: +3pt\n  cost.paid_search: -10%\n  leads.email: +25%\n",
        encoding="utf-8",
    )
    with (tmp / "more_leads.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["lead_id", "email", "created_at", "channel", "persona", "segment"])
        w.writerow(["C0000001", "ana@example.org", "2026-10-30 09:15", "email", "cfo", "smb"])
        w.writerow(["C0000002", "bo@example.org", "2026-10-31", "paid_search", "it", "mid"])
        w.writerow(["C0000003", "cy@example.org", "not a date", "email", "cfo", "smb"])
        w.writerow(["", "dee@example.org", "2026-10-29", "email", "cfo", "smb"])
    with (tmp / "membership.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["lead_id", "group"])
        for i in range(1, 41):
            w.writerow([f"L{i:07d}", "holdout" if i % 5 == 0 else "mailed"])


# -- normalising -----------------------------------------------------------------------------
def _placeholders(places: dict[str, Path]) -> list[tuple[str, str]]:
    pairs = []
    for name, path in places.items():
        label = "{" + name.split("@")[0] + "}"  # "demo@built": where the demo was built
        pairs.append((str(path.resolve()), label))
        pairs.append((str(path), label))
    return sorted(set(pairs), key=lambda p: -len(p[0]))


def normalise(text: str, places: dict[str, Path]) -> str:
    for old, new in _placeholders(places):
        text = text.replace(old, new)
    return text


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- the CLI ----------------------------------------------------------------------------------
def run_cli(argv: list[str]) -> tuple[int, str]:
    """``leadledger ARGV`` in this process: exit code and standard output."""
    from leadledger.cli.main import main

    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        rc = main(argv)
    if rc != 0:  # the error line and its hint are part of the answer
        said = [x for x in err.getvalue().splitlines() if x.startswith(("error", "hint"))]
        return rc, buf.getvalue() + "\n".join(["", "--- stderr ---", *said])
    return rc, buf.getvalue()


def run_case(case: Any, places: dict[str, Path]) -> dict[str, Any]:
    """One CLI case in every format it is pinned in."""
    # the scratch files are named relative to the scratch folder, where every case runs (a
    # folder that holds no project): a terminal table's layout must not depend on the length
    # of a temporary path
    names = {k: str(v) for k, v in places.items()}
    argv = [a.replace("{tmp}/", "").format(**names) for a in case.argv]
    if case.project in ("demo", "copy"):
        argv += ["--project", str(places[case.project])]
    answers: dict[str, Any] = {}
    for fmt in case.formats:
        extra = [] if "--format" in argv else ["--format", fmt]
        cwd = Path.cwd()
        os.chdir(places["tmp"])
        try:
            rc, text = run_cli(argv + extra)
        finally:
            os.chdir(cwd)
        text = normalise(text, places)
        value: Any = text
        if rc == 0 and fmt == "json" and text.strip():
            value = json.loads(text)
        elif rc == 0 and fmt == "csv":
            value = _csv_rows(text)
        answers[fmt] = {"exit": rc, "out": value}
    return answers


def collect_cli(places: dict[str, Path], *, only: str | None = None) -> dict[str, Any]:
    """Every CLI case (``only``: the cases on ``demo``/``none``, or on ``copy``, in order)."""
    out: dict[str, Any] = {}
    for case in CLI:
        if only == "copy" and case.project != "copy":
            continue
        if only == "read" and case.project == "copy":
            continue
        out[case.id] = run_case(case, places)
    return out


def prepare(demo: Path, work: Path) -> dict[str, Path]:
    """The places the cases name: the demo, a private copy of it, a scratch folder of inputs."""
    copy = work / "copy"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(demo, copy, ignore=shutil.ignore_patterns("leadledger-server.json"))
    config = copy / "leadledger.yaml"  # an experiment whose groups are imported, for the copy
    text = config.read_text(encoding="utf-8")
    found = re.search(r"(?m)^experiments:\n( *)- ", text)
    assert found, "the demo's leadledger.yaml lists its experiments"
    config.write_text(
        text[: found.end(1)]
        + "- {name: webinar_split, stage: mql, assignment: imported, start: 2026-01-01, "
        "end: 2026-10-31}\n" + text[found.start(1) :],
        encoding="utf-8",
    )
    tmp = work / "scratch"
    write_inputs(tmp)
    return {"demo": demo, "copy": copy, "tmp": tmp}


# -- the API and the pages --------------------------------------------------------------------
class _DataAttrs(html.parser.HTMLParser):
    """Every element's data-* attributes (numbers and keys a page shows) and every chart's
    Vega-Lite spec, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[Any] = []
        self._spec: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v for k, v in attrs if k.startswith("data-") and k != "data-rendered"}
        if tag == "script" and "data-spec-for" in data:
            self._spec = data["data-spec-for"] or ""
            self._text = []
            return
        if data:
            self.items.append({"tag": tag, **data})

    def handle_data(self, data: str) -> None:
        if self._spec is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._spec is not None:
            spec = json.loads("".join(self._text))
            self.items.append({"chart": self._spec, "data": spec.get("data"), "spec": spec})
            self._spec = None


def page_values(html_text: str) -> list[Any]:
    p = _DataAttrs()
    p.feed(html_text)
    return p.items


def collect_api(client: Any, places: dict[str, Path], cases: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case in API if cases is None else cases:
        r = client.get(case.path, params=case.query)
        body = normalise(r.text, places)
        entry: dict[str, Any] = {"status": r.status_code, "json": json.loads(body)}
        for t in case.csv_tables:
            q = dict(case.query) | {"format": "csv"} | ({} if t == "rows" else {"table": t})
            c = client.get(case.path, params=q)
            rows = _csv_rows(normalise(c.text, places))
            entry[f"csv:{t}"] = {"status": c.status_code, "rows": rows}
        out[case.id] = entry
    return out


def collect_pages(client: Any, places: dict[str, Path], pages: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in PAGES if pages is None else pages:
        r = client.get(path, headers={"accept": "text/html"})
        out[path] = {"status": r.status_code, "values": page_values(normalise(r.text, places))}
    return out


# -- the surfaces: CLI options and API parameters ---------------------------------------------
def cli_surface() -> dict[str, Any]:
    import typer

    from leadledger.cli.main import app

    out: dict[str, Any] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        if getattr(cmd, "commands", None) is not None and hasattr(cmd, "list_commands"):
            if path:  # a group with a callback of its own (score) has options too
                out[" ".join(path)] = _params(cmd)
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name])
        else:
            out[" ".join(path)] = _params(cmd)

    def _params(cmd: Any) -> dict[str, Any]:
        params = {}
        for p in cmd.params:
            key = "/".join(sorted([*p.opts, *getattr(p, "secondary_opts", [])]))
            params[key] = {
                "kind": p.param_type_name,
                "type": _type_name(p),
                "default": _jsonable(p.default),
                "required": bool(p.required),
                "multiple": bool(getattr(p, "multiple", False)),
                "flag": bool(getattr(p, "is_flag", False)),
                "help": getattr(p, "help", None),
                "show_default": getattr(p, "show_default", None),
            }
        return {"help": cmd.help, "params": params}

    walk(typer.main.get_command(app), [])
    return out


def _type_name(p: Any) -> str:
    t = getattr(p, "type", None)
    if t is not None:
        return str(getattr(t, "name", t))
    annotation = p.type_descriptor.annotation
    return getattr(annotation, "__name__", str(annotation))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def api_surface(app: Any) -> dict[str, Any]:
    """Every operation of the OpenAPI: its parameters (name, place, required, schema) and its
    request body's schema name. Descriptions are left out."""
    spec = app.openapi()
    out: dict[str, Any] = {}
    for path, ops in sorted(spec["paths"].items()):
        for method, op in sorted(ops.items()):
            params = {}
            for p in op.get("parameters", []):
                schema = {k: v for k, v in p.get("schema", {}).items() if k != "title"}
                schema.pop("description", None)
                params[f"{p['in']}:{p['name']}"] = {
                    "required": p.get("required", False),
                    "schema": _strip(schema),
                }
            body = op.get("requestBody", {}).get("content", {})
            out[f"{method.upper()} {path}"] = {
                "params": params,
                "body": sorted(body),
                "responses": sorted(op.get("responses", {})),
            }
    return out


def _strip(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _strip(v) for k, v in schema.items() if k not in ("title", "description", "examples")
        }
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


# -- all of it ---------------------------------------------------------------------------------
def collect(demo: Path, work: Path) -> dict[str, Any]:
    """Everything, on a read-only ``demo`` and a private copy of it under ``work``."""
    from fastapi.testclient import TestClient

    from leadledger.service import Workspace
    from leadledger.web.app import create_app

    places = prepare(demo, work)
    result: dict[str, Any] = {}
    with frozen():
        with Workspace(demo) as ws:
            app = create_app(demo, auth=False, ws=ws, cache_ttl=0)
            with TestClient(app) as client:
                result["api"] = collect_api(client, places)
                result["pages"] = collect_pages(client, places)
            result["api_surface"] = api_surface(app)
        result["cli"] = collect_cli(places)
    result["cli_surface"] = cli_surface()
    return result


def load_golden() -> dict[str, Any]:
    out = {}
    for part in ("cli", "api", "pages", "cli_surface", "api_surface"):
        with gzip.open(GOLDEN / f"{part}.json.gz", "rt", encoding="utf-8") as fh:
            out[part] = json.load(fh)
    return out


def write_golden(result: dict[str, Any]) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for part, value in result.items():
        text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
        with gzip.GzipFile(GOLDEN / f"{part}.json.gz", "wb", mtime=0) as fh:
            fh.write(text.encode("utf-8"))


# -- comparing -----------------------------------------------------------------------------------
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def same_terminal_text(got: str, want: str) -> bool:
    """Two terminal tables alike but for padding and display rounding: a number may differ by
    one unit of its last shown digit (a float sum that lands on ``x.xx5`` rounds either way as
    the last bits of DuckDB's sums differ between runs; one that lands on a whole number shows
    as ``112,775`` on one run and ``112,775.00`` on the next)."""
    # ".00" may sit in a column of its own line when a narrow column wraps "112,775.00"
    g, w = (re.sub(r"\s+", "", re.sub(r"\.00(?!\d)", "", t)) for t in (got, want))
    if _NUMBER.split(g) != _NUMBER.split(w):
        return False
    gn, wn = _NUMBER.findall(g), _NUMBER.findall(w)
    if len(gn) != len(wn):
        return False
    for a, b in zip(gn, wn, strict=True):
        if a == b:
            continue
        places = max(len(x.partition(".")[2]) for x in (a, b))
        if abs(float(a.replace(",", "")) - float(b.replace(",", ""))) > 10**-places * 1.001:
            return False
    return True


def differences(got: Any, want: Any, where: str = "", limit: int = 20) -> list[str]:
    """Where ``got`` differs from ``want``: floats within TOL (relative or absolute), numbers in
    CSV text compared as numbers, terminal tables as ``same_terminal_text`` says, everything else
    exactly."""
    out: list[str] = []

    def number(x: Any) -> float | None:
        if isinstance(x, bool):
            return None
        if isinstance(x, (int, float)):
            return float(x)
        if isinstance(x, str):
            try:
                return float(x) if x.strip() and x.strip() not in ("nan", "inf") else None
            except ValueError:
                return None
        return None

    def walk(g: Any, w: Any, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(w, dict) and isinstance(g, dict):
            for k in sorted(set(w) | set(g)):
                if k not in g:
                    out.append(f"{at}.{k}: missing")
                elif k not in w:
                    out.append(f"{at}.{k}: unexpected")
                else:
                    walk(g[k], w[k], f"{at}.{k}")
            return
        if isinstance(w, list) and isinstance(g, list):
            if len(g) != len(w):
                out.append(f"{at}: {len(g)} items, expected {len(w)}")
                return
            for i, (a, b) in enumerate(zip(g, w, strict=True)):
                walk(a, b, f"{at}[{i}]")
            return
        if g == w:
            return
        if isinstance(g, str) and isinstance(w, str) and "\n" in w and same_terminal_text(g, w):
            return
        a, b = number(g), number(w)
        if (
            a is not None
            and b is not None
            and (not isinstance(w, str) or isinstance(g, str))
            and math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)
        ):
            return
        out.append(f"{at}: got {g!r:.300}, expected {w!r:.300}")

    walk(got, want, where)
    return out
