"""The core never imports a surface (CLI, API, web), and metrics never hold a connection or
build SQL strings."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import leadledger

PACKAGE = Path(leadledger.__file__).parent
SURFACES = ("leadledger.cli", "leadledger.api", "leadledger.web")
SURFACE_LIBS = ("typer", "click", "rich", "fastapi", "starlette", "jinja2", "uvicorn")
#: Loaded at run time by Ibis itself (its repr), so only the static check forbids it.
RUNTIME_ALLOWED = ("rich",)


def core_modules() -> list[Path]:
    return [
        p
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0] not in ("cli", "api", "web")
    ]


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_modules_import_no_surface():
    offenders = {}
    for path in core_modules():
        bad = [
            n
            for n in imported_names(path)
            if n.startswith(SURFACES) or n.split(".")[0] in SURFACE_LIBS
        ]
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert offenders == {}


def test_importing_the_core_loads_no_surface_library():
    code = (
        "import sys, importlib, pkgutil, leadledger\n"
        "skip = ('leadledger.cli', 'leadledger.api', 'leadledger.web')\n"
        # walk by hand: pkgutil.walk_packages imports a package to descend into it, skipped
        # surfaces (leadledger.web) included
        "def walk(path, prefix):\n"
        "    for m in pkgutil.iter_modules(path, prefix):\n"
        "        if m.name.startswith(skip):\n"
        "            continue\n"
        "        mod = importlib.import_module(m.name)\n"
        "        if m.ispkg:\n"
        "            walk(mod.__path__, m.name + '.')\n"
        "walk(leadledger.__path__, 'leadledger.')\n"
        f"libs = {tuple(x for x in SURFACE_LIBS if x not in RUNTIME_ALLOWED)!r}\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in libs"
        " or n.startswith(skip)]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_metrics_build_no_sql_strings_and_take_no_connection():
    paths = [
        p
        for d in ("metrics", "planning", "experiments", "scoring", "attribution")
        for p in (PACKAGE / d).rglob("*.py")
    ]
    assert len(paths) > 3
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for word in ("raw_sql", ".sql(", "SELECT ", "execute(", ".con."):
            assert word not in text, f"{path.name} uses {word!r}"


# -- the import graph ----------------------------------------------------------------------------
def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports when it is imported: module-level statements only
    (an import inside a function runs when it is called; ``if TYPE_CHECKING:`` never runs)."""

    def known(dotted: str) -> str | None:
        while dotted and dotted not in mods:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str] = set()
    is_pkg = path.name == "__init__.py"

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
            elif isinstance(node, ast.Import):
                found.update(m for a in node.names if (m := known(a.name)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for a in node.names:
                    sub = f"{module}.{a.name}"
                    m = sub if sub in mods else known(module)
                    if m:
                        found.add(m)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    found.discard(name)
    return found


def import_cycles() -> list[list[str]]:
    """The strongly connected components (more than one module) of the module-level import
    graph (Tarjan's algorithm, iteratively)."""
    mods = _modules()
    graph = {m: sorted(module_imports(m, p, mods)) for m, p in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            for j in range(i, len(graph[v])):
                w = graph[v][j]
                if w not in index:
                    work += [(v, j + 1), (w, 0)]
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
    return out


def test_the_import_graph_finds_a_known_edge() -> None:
    """The graph itself is read right (a cycle test over an empty graph would prove nothing)."""
    mods = _modules()
    name = "leadledger.reports.funnel"
    assert "leadledger.reports.registry" in module_imports(name, mods[name], mods)
    assert "leadledger.cli.app" in module_imports(
        "leadledger.cli.main", mods["leadledger.cli.main"], mods
    )


def test_no_import_cycles() -> None:
    """No two package modules import each other at import time, directly or through others:
    each layer can be read, imported and tested on its own (surfaces → reports → domain →
    ledger)."""
    assert import_cycles() == []


# -- SQL text and connections --------------------------------------------------------------------
#: The store adapters: the only modules that hold the connection or build SQL text.
STORE_ADAPTERS = ("ledger/store.py",)
SQL_TEXT = re.compile(
    r"^\s*(SELECT|INSERT\s+INTO|CREATE\s+(TABLE|VIEW|INDEX)|DELETE\s+FROM|UPDATE\s+\w+\s+SET|"
    r"DROP\s+(TABLE|VIEW)|ALTER\s+TABLE|COPY\s)\b",
    re.IGNORECASE,
)


def test_only_the_store_adapters_hold_sql_text_or_the_connection() -> None:
    offenders: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in STORE_ADAPTERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bad = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("con", "raw_sql", "sql"):
                bad.append(f"line {node.lineno}: .{node.attr}")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and SQL_TEXT.match(node.value)
            ):
                bad.append(f"line {node.lineno}: SQL text {node.value[:30]!r}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                if any(n.split(".")[0] in ("duckdb", "psycopg", "sqlglot") for n in names):
                    bad.append(f"line {node.lineno}: imports a driver")
        if bad:
            offenders[rel] = bad
    assert offenders == {}


# -- the registry ----------------------------------------------------------------------------------
def test_every_registered_report_is_complete() -> None:
    """Every report in the registry has a typed Params model that forbids unknown fields, its
    main table's columns, a command's help with an example, a surface (CLI or API), and a test
    that runs it by name."""
    from leadledger.reports.params import Params
    from leadledger.reports.registry import specs

    tests_text = "\n".join(
        p.read_text(encoding="utf-8") for p in Path(__file__).parent.rglob("test_*.py")
    )
    problems = []
    for spec in specs():
        if not issubclass(spec.params, Params):
            problems.append(f"{spec.name}: params is not a Params model")
        elif spec.params.model_config.get("extra") != "forbid":
            problems.append(f"{spec.name}: params accept unknown fields")
        if not spec.columns:
            problems.append(f"{spec.name}: no columns declared")
        if spec.cli is not None and "Example:" not in spec.help:
            problems.append(f"{spec.name}: its command's help has no example")
        if spec.cli is None and spec.api is None:
            problems.append(f"{spec.name}: neither a command nor a route")
        called = (
            f'"{spec.name}"' in tests_text
            or (spec.cli is not None and f'"{spec.cli[-1]}"' in tests_text)
            or spec.params.__name__ in tests_text
        )
        if not called:
            problems.append(f"{spec.name}: no test runs it")
    assert len(specs()) > 20
    assert problems == []
