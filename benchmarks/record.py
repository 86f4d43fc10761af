"""Each benchmark script owns one section of BENCHMARKS.md, between two markers.

``write_section("attribution", text)`` replaces the text between ``<!-- begin:attribution -->``
and ``<!-- end:attribution -->`` (appending the section when it is new), so the scripts can run
on their own and in any order without erasing each other's results.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- begin:{name} -->", f"<!-- end:{name} -->"


def sections(text: str) -> dict[str, str]:
    """Every marked section of a BENCHMARKS.md text, name → full block (markers included)."""
    found = re.finditer(r"<!-- begin:([a-z0-9_-]+) -->.*?<!-- end:\1 -->", text, flags=re.S)
    return {m.group(1): m.group(0) for m in found}


def write_section(name: str, markdown: str, path: Path = BENCHMARKS) -> None:
    begin, end = _markers(name)
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    current = sections(text)
    if name in current:
        text = text.replace(current[name], block)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
