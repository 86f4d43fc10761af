"""The core never imports a surface (CLI, API, web), and metrics never hold a connection or
build SQL strings."""

from __future__ import annotations

import ast
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
