"""The ``leadledger`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from leadledger.cli.app import (
    app,
)
from leadledger.cli.common import (
    FormatOpt,
    ProjectOpt,
    busy,
    err,
    out,
)
from leadledger.cli.common import check_format as _check_format
from leadledger.cli.common import workspace as _workspace
from leadledger.cli.output import print_report
from leadledger.errors import LeadledgerError, RejectedRows


# -- project -----------------------------------------------------------------------------------
@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Project folder to create.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing leadledger.yaml.")] = False,
) -> None:
    """Create a project: leadledger.yaml with commented defaults and the embedded DuckDB store.

    Example: leadledger init acme && cd acme && leadledger validate
    """
    from leadledger.service import init_project

    path = init_project(directory, force=force)
    out.print(f"created {path} and the ledger in {path.parent}")
    out.print("next: edit leadledger.yaml, then 'leadledger validate' and 'leadledger import'")


@app.command()
def validate(project: ProjectOpt = None, fmt: FormatOpt = "table") -> None:
    """Check leadledger.yaml and report every problem at once (exit 1 on errors).

    Example: leadledger validate --project acme
    """
    from leadledger.config import CONFIG_NAME, find_project_dir, validate_config

    _check_format(fmt)
    folder = Path(project) if project else find_project_dir()
    _cfg, issues = validate_config(folder / CONFIG_NAME)
    if _cfg is not None and _cfg.scoring.rules:
        issues = issues + _scoring_data_warnings(folder, _cfg)
    errors = [i for i in issues if i.severity == "error"]
    if fmt == "json":
        sys.stdout.write(
            json.dumps({"valid": not errors, "issues": [i.as_dict() for i in issues]}, indent=2)
            + "\n"
        )
    else:
        for issue in issues:
            (err if issue.severity == "error" else out).print(
                issue.render(), markup=False, highlight=False, soft_wrap=True
            )
        if not errors:
            out.print(
                f"{folder / CONFIG_NAME}: valid"
                + (f" ({len(issues)} warning(s))" if issues else "")
            )
        else:
            err.print(f"{len(errors)} error(s)")
    if errors:
        raise typer.Exit(1)


def _scoring_data_warnings(folder: Path, cfg: Any) -> list[Any]:
    """A scoring rule that gives no lead in the ledger any points, when the project's store
    exists and has leads (data-aware: says so in the message)."""
    from leadledger.config import ConfigIssue
    from leadledger.config.loader import scoring_rule_paths
    from leadledger.reports.scoring import unmatched_rules
    from leadledger.service import Workspace

    try:
        ws = Workspace(folder, config=cfg)
        from leadledger.ledger.store import Store

        ws.__dict__["store"] = Store.open(cfg, folder, create=False)
    except LeadledgerError:
        return []
    with ws:
        if not ws.store.has_table("leads"):
            return []
        leads = int(ws.store.execute(ws.store.table("leads").count()))
        if not leads:
            return []
        names = unmatched_rules(ws.ctx)
    paths = scoring_rule_paths(folder / "leadledger.yaml")
    where: dict[str, tuple[tuple[str | int, ...], int | None]] = paths
    return [
        ConfigIssue(
            "scoring_rule_matches_nothing",
            f"scoring rule '{name}' gives no points to any of the {leads:,} leads in the ledger "
            "today (checked against the data)",
            path=where.get(name, (("scoring",), None))[0],
            line=where.get(name, (("scoring",), None))[1],
            severity="warning",
            hint="check its field, values and window ('leadledger score explain LEAD')",
            file=str(folder / "leadledger.yaml"),
        )
        for name in names
    ]


# -- import ------------------------------------------------------------------------------------
@app.command("import")
def import_(
    kind: Annotated[
        str, typer.Argument(help="leads, stages, touches, deals, activities, costs or traffic.")
    ],
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON Lines files.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping YAML.", show_default=False)
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="hubspot-contacts, salesforce-leads, hubspot-engagements or salesforce-tasks.",
            show_default=False,
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="File encoding (default: detected).", show_default=False)
    ] = None,
    allow_rejects: Annotated[
        bool,
        typer.Option(
            "--allow-rejects", help="Exit 0 even when rows were rejected (they are quarantined)."
        ),
    ] = False,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Import files into the ledger. Rejected rows go to a quarantine CSV beside the import
    report; re-importing the same file changes nothing.

    Example: leadledger import leads contacts.csv --preset hubspot-contacts
    """
    _check_format(fmt)
    big = sum(f.stat().st_size for f in files if f.is_file()) > 4 * 1024 * 1024
    with _workspace(project) as ws:
        if big and fmt == "table":
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as bar:
                task = bar.add_task("importing", total=4)

                def progress(step: str, done: int, total: int) -> None:
                    bar.update(task, description=step, completed=done, total=total)

                result = ws.import_files(
                    kind,
                    files,
                    mapping=mapping,
                    preset=preset,
                    encoding=encoding,
                    progress=progress,
                )
        else:
            result = ws.import_files(kind, files, mapping=mapping, preset=preset, encoding=encoding)
    data = result.as_dict()
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    elif fmt == "csv":
        sys.stdout.write("file,read,accepted,rejected,skipped\n")
        for f in result.files:
            sys.stdout.write(f"{f.file},{f.read},{f.accepted},{f.rejected},{f.skipped}\n")
    else:
        out.print(
            f"{kind}: read {result.read:,} · accepted {result.accepted:,} · rejected "
            f"{result.rejected:,} · skipped (already in the ledger) {result.skipped:,}"
        )
        if data["stage_events_new"] or data["stage_events_skipped"]:
            out.print(
                f"stage events from stage columns: new {data['stage_events_new']:,} · "
                f"skipped {data['stage_events_skipped']:,}"
            )
        for f in result.files:
            if f.ignored_columns:
                out.print(
                    f"[yellow]{f.file}: columns not imported: "
                    f"{', '.join(f.ignored_columns)}[/yellow]"
                )
        for rej in result.sample_rejections[:5]:
            err.print(
                f"  {rej['file']} row {rej['row']} column {rej['column'] or '-'}: "
                f"got {rej['value']!r}, expected {rej['expected']}",
                markup=False,
            )
        out.print(f"report: {result.report_path}")
    if result.rejected and not allow_rejects:
        raise RejectedRows(
            f"{result.rejected:,} row(s) rejected and quarantined in {result.quarantine_path}",
            hint="fix them and import again, or pass --allow-rejects to accept the rest "
            "(the accepted rows are already imported)",
        )


# -- synthetic data ------------------------------------------------------------------------------
@app.command()
def generate(
    directory: Annotated[Path, typer.Argument(help="Folder for the generated files.")],
    leads: Annotated[int, typer.Option(help="Number of leads.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    fmt: Annotated[str, typer.Option("--file-format", help="csv or parquet.")] = "csv",
    import_: Annotated[
        bool,
        typer.Option(
            "--import/--no-import", help="Also create a project in DIR and import the files."
        ),
    ] = False,
) -> None:
    """Make a realistic synthetic company: leads, stages, touches, deals, costs, traffic.

    Example: leadledger generate acme-data --leads 20000 --seed 1 --import
    """
    from leadledger.demo import build_project, generate_company, write_company

    with busy("generating") as step:
        company = generate_company(leads=leads, seed=seed)
        paths = write_company(company, directory, fmt)
        step("written")
        if import_:
            step("importing")
            build_project(directory, company=company, files=paths)
    for kind, path in paths.items():
        out.print(f"{kind}: {path}")


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo project.")] = Path("demo"),
    leads: Annotated[int, typer.Option(help="Number of synthetic leads.")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    fmt: FormatOpt = "table",
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="End by serving the demo's dashboard on 127.0.0.1 (no tokens; Ctrl-C stops). "
            "Never with --format json or csv.",
        ),
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8000,
) -> None:
    """Build a demo project from a synthetic company, print a funnel summary, then serve its
    dashboard (and print the URL).

    Example: leadledger demo ./demo --leads 20000
    """
    from leadledger.demo import run_demo

    _check_format(fmt)
    with busy("building the demo") as step:
        reports = run_demo(directory, leads=leads, seed=seed, progress=step)
    if fmt == "json":
        sys.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2) + "\n")
        return
    for r in reports:
        if fmt == "csv":
            sys.stdout.write(f"# {r.name}\n")
        print_report(r, fmt)
        if fmt == "table":
            out.print()
    if fmt == "table":
        out.print(
            f"demo project: {directory.resolve()}  (try: leadledger report stages "
            f"--project {directory} --by channel)"
        )
    if serve and fmt == "table":
        from leadledger.cli.web import announce
        from leadledger.web.server import serve as run

        run(directory, port=port, auth=False, on_ready=lambda u, _: announce(u, auth=False))


# the command groups of later capabilities live in their own modules; importing them registers
# their commands on ``app`` (they import the shared options from this module)
from leadledger.cli import (  # noqa: E402, F401
    attribution,
    experiments,
    export,
    model,
    planning,
    protection,
    scoring,
    web,
)


def _registered_commands() -> None:
    """One command per registered report (``leadledger.cli.common.register_reports``); the
    command modules imported above have added their groups and the commands that take extra
    CLI-only options."""
    from leadledger.cli.common import register_reports

    register_reports()


_registered_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes print one line and a hint, never a traceback."""
    try:
        rc = app(args=argv, standalone_mode=False)
    except LeadledgerError as exc:
        err.print(
            f"[bold red]error[/bold red] {escape('[' + exc.code + ']')}: {escape(exc.message)}",
            highlight=False,
        )
        if exc.hint:
            err.print(f"hint: {escape(exc.hint)}", highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {escape(exc.format_message())}", highlight=False)
        return exc.exit_code
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
