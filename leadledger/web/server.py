"""``leadledger serve``: check the address and the auth mode, say who holds the project, run
uvicorn in this process."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from leadledger.errors import InvalidArgument
from leadledger.ledger.store import SERVER_FILE
from leadledger.service import Workspace


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, auth: bool) -> None:
    """``--no-auth`` only on loopback: anywhere else a token is required, always."""
    if not auth and not is_loopback(host):
        raise InvalidArgument(
            f"--no-auth is refused on {host}: only a loopback address may serve without tokens",
            hint="drop --no-auth and create a token (leadledger token create --scope read), "
            "or bind to 127.0.0.1",
        )


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def server_file(project_dir: Path, url: str) -> Iterator[None]:
    """Tell other commands who holds the project (pid, URL) while the server runs."""
    f = project_dir / SERVER_FILE
    f.write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "url": url,
                "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        ),
        encoding="utf-8",
    )
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            f.unlink()


def serve(
    project_dir: Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    auth: bool = True,
    cache_ttl: float = 600.0,
    max_stale: float = 0.0,
    on_ready: Callable[[str, Workspace], Any] | None = None,
    log_level: str = "warning",
) -> None:
    """Open the project, then serve its API and dashboard until interrupted."""
    import uvicorn

    from leadledger.web.app import create_app

    check_bind(host, auth=auth)
    if not port_free(host, port):
        raise InvalidArgument(
            f"port {port} on {host} is in use", hint="pick another one with --port"
        )
    ws = Workspace(project_dir)
    ws.store  # open (and lock, on DuckDB) before saying anything  # noqa: B018
    url = url_of(host, port)
    try:
        app = create_app(
            ws.project_dir, auth=auth, ws=ws, cache_ttl=cache_ttl, max_stale=max_stale, warm=True
        )
        with server_file(ws.project_dir, url):
            if on_ready:
                on_ready(url, ws)
            uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        ws.close()
