"""``leadledger serve`` and ``leadledger token``: the web app and its API tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from leadledger.cli.main import FormatOpt, ProjectOpt, _check_format, _workspace, app, out
from leadledger.cli.output import print_report
from leadledger.reports.result import Report

token_app = typer.Typer(
    help="API tokens for 'leadledger serve': created with a scope, shown once, stored hashed."
    "\n\nExample: leadledger token create --scope write --name website-form",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")

HostOpt = Annotated[
    str,
    typer.Option(help="Address to bind. Anything but loopback requires tokens (no --no-auth)."),
]
PortOpt = Annotated[int, typer.Option(help="TCP port.")]
NoAuthOpt = Annotated[
    bool,
    typer.Option(
        "--no-auth",
        help="Serve without tokens (dashboard and API open). Refused unless --host is loopback.",
    ),
]

CacheTtlOpt = Annotated[
    float,
    typer.Option(
        "--cache-ttl",
        min=0,
        help="Seconds a computed report may be served again while the data is unchanged (any "
        "write makes it stale at once); pages people look at are kept computed in the "
        "background. 0 turns the cache off.",
    ),
]

MaxStaleOpt = Annotated[
    float,
    typer.Option(
        "--max-stale",
        min=0,
        help="Seconds a report computed on older data may still be served while the new one is "
        "computed (for a project that receives events all the time; the page's footer names the "
        "data version). 0: never, every number is from the current data.",
    ),
]


def announce(url: str, *, auth: bool) -> None:
    out.print(f"leadledger dashboard: {url}/overview   API: {url}/api/v1   docs: {url}/docs")
    if auth:
        out.print(
            "tokens required: create one with 'leadledger token create --scope read' "
            "(before serving, on DuckDB) or POST /api/v1/tokens with an admin token"
        )
    out.print("press Ctrl-C to stop")


@app.command("serve")
def serve(
    project: ProjectOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    no_auth: NoAuthOpt = False,
    cache_ttl: CacheTtlOpt = 600.0,
    max_stale: MaxStaleOpt = 0.0,
) -> None:
    """Serve the dashboard and the JSON API (/api/v1, OpenAPI at /docs) of a project.

    Example: leadledger serve --project demo --no-auth
    """
    from leadledger.web.server import serve as run

    run(
        project,
        host=host,
        port=port,
        auth=not no_auth,
        cache_ttl=cache_ttl,
        max_stale=max_stale,
        on_ready=lambda u, _: announce(u, auth=not no_auth),
    )


@token_app.command("create")
def token_create(
    scope: Annotated[
        str, typer.Option(help="read (reports), write (ingestion, includes read) or admin.")
    ] = "read",
    name: Annotated[
        str | None, typer.Option(help="A name to recognise it by.", show_default=False)
    ] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Create an API token. The secret is printed this once; only its hash is kept.

    Example: leadledger token create --scope write --name website-form
    """
    _check_format(fmt)
    with _workspace(project) as ws:
        row, secret = ws.token_create(scope, name)
    import pandas as pd

    rep = Report("token", {"scope": scope, "name": name}, pd.DataFrame([row | {"token": secret}]))
    if fmt == "table":
        out.print(f"token {row['token_id']} ({row['name']}, scope {scope}) — shown once, keep it:")
        out.print(secret, soft_wrap=True, highlight=False)
        return
    print_report(rep, fmt)


@token_app.command("list")
def token_list(project: ProjectOpt = None, fmt: FormatOpt = "table") -> None:
    """List the tokens (id, name, scope, created, revoked); never their secrets.

    Example: leadledger token list --format json
    """
    _check_format(fmt)
    with _workspace(project) as ws:
        print_report(ws.token_list(), fmt)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or name.")],
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Revoke a token: calls with it are refused from now on.

    Example: leadledger token revoke website-form
    """
    _check_format(fmt)
    import pandas as pd

    with _workspace(project) as ws:
        row: dict[str, Any] = ws.token_revoke(token)
    print_report(Report("token_revoke", {"token": token}, pd.DataFrame([row])), fmt)


__all__ = ["Path", "serve", "token_create", "token_list", "token_revoke"]
