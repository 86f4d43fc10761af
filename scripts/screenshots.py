"""Screenshots of the dashboard's main pages for the README and the docs.

Builds the demo project (as ``leadledger demo`` does; or takes ``--project DIR``), serves it with
``leadledger serve --no-auth`` on a free loopback port, and has Debian's Chromium (driven by
Playwright; never ``playwright install``) take a full-page PNG of each main page at 1400 px wide
into ``docs/img/<page>.png``, once every chart is drawn. A PNG over ``--max-kb`` is re-encoded
with a 256-colour palette (charts and text survive it well) so each stays small.

Usage: .venv/bin/python scripts/screenshots.py [--project DIR] [--leads 20000] [--out docs/img]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the main pages, in the README's order
PAGES = ["overview", "funnel", "money", "plan", "health", "executive"]
#: the query a page is shown with: the plan with the demo goal's revenue and a what-if lever
QUERY = {"plan": "revenue=8000000&set=close_rate%3D%2B2pt"}
#: every Vega-Lite chart drawn by static/app.js (static inline-SVG charts have no spec script)
SETTLED = """() => Array.from(document.querySelectorAll('[data-chart]')).every(e =>
    !document.querySelector('script[data-spec-for="' + e.dataset.chart + '"]')
    || e.dataset.rendered === 'true' || e.dataset.error !== undefined)"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(project: Path) -> Iterator[str]:
    """``leadledger serve --no-auth`` on a free loopback port, until the block ends."""
    port = free_port()
    argv = ["serve", "--project", str(project), "--port", str(port), "--no-auth"]
    code = f"import sys; from leadledger.cli.main import main; sys.exit(main({argv!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=project)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"leadledger serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise SystemExit("leadledger serve did not answer in 120 s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def shrink(png: bytes, max_bytes: int) -> bytes:
    """The PNG itself when small enough, else re-encoded with a 256-colour palette."""
    if len(png) <= max_bytes:
        return png
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue() if len(out.getvalue()) < len(png) else png


def shoot(
    url: str, out: Path, *, pages: list[str], width: int, max_kb: int, max_height: int
) -> list[Path]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": width, "height": 900})
        page = ctx.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        for name in pages:
            problems.clear()
            query = f"?{QUERY[name]}" if name in QUERY else ""
            resp = page.goto(f"{url}/{name}{query}", wait_until="load")
            status = resp.status if resp else "no response"
            if status != 200:
                print(f"  {name}: HTTP {status}, skipped", file=sys.stderr)
                continue
            try:
                page.wait_for_function(SETTLED, timeout=60_000)
                page.wait_for_load_state("networkidle")
            except PlaywrightError as exc:
                print(f"  {name}: charts not drawn ({exc}), skipped", file=sys.stderr)
                continue
            height = int(page.evaluate("document.documentElement.scrollHeight"))
            clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height)}
            png = shrink(page.screenshot(full_page=True, clip=clip), max_kb * 1024)
            target = out / f"{name}.png"
            target.write_bytes(png)
            written.append(target)
            cut = f", cut at {max_height} of {height} px" if height > max_height else ""
            errs = f" — {len(problems)} console error(s): {problems[:3]}" if problems else ""
            note = cut + errs
            print(
                f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
                f"{len(png) / 1024:.0f} KB{note}"
            )
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, help="an existing project (default: a new demo)")
    ap.add_argument("--leads", type=int, default=20000, help="leads of the demo (as the CLI's)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--max-kb", type=int, default=400)
    ap.add_argument("--max-height", type=int, default=3200, help="px; a longer page is cut")
    ap.add_argument("--pages", nargs="*", default=PAGES)
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        print(f"{CHROMIUM} is missing: install Debian's 'chromium'", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        project = args.project
        if project is None:
            from leadledger.demo import run_demo

            project = Path(tmp) / "demo"
            print(f"building the demo ({args.leads} leads) in {project}")
            run_demo(project, leads=args.leads, seed=args.seed)
        with served(project.resolve()) as url:
            print(f"serving {url}; screenshots into {args.out}")
            written = shoot(
                url,
                args.out,
                pages=args.pages,
                width=args.width,
                max_kb=args.max_kb,
                max_height=args.max_height,
            )
    big = [p for p in written if p.stat().st_size > args.max_kb * 1024]
    for p in big:
        print(f"  {p.name} is over {args.max_kb} KB", file=sys.stderr)
    return 0 if written and not big and len(written) == len(args.pages) else 1


if __name__ == "__main__":
    sys.exit(main())
