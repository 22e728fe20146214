"""``python -m schemas``: check the contract, and release changed schemas as new versions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from foundation.console import reporting_errors
from schemas.history import compatibility_problems, pending_releases, release, released_versions
from schemas.loader import load_schemas

app = typer.Typer(help="The Avro contract of the pipeline's topics.", no_args_is_help=True)
console = Console()


@app.command()
def check() -> None:
    """Say which message schemas changed since their release, and whether compatibly."""
    schemas = load_schemas()
    pending = pending_releases(schemas)
    if not pending:
        console.print("Every message schema is released as it stands.")
    problems = {
        full_name: compatibility_problems(schemas[full_name], versions[-1].schema)
        for full_name in pending
        if (versions := released_versions(full_name))
    }
    for full_name, version in pending.items():
        found = problems.get(full_name)
        verdict = "INCOMPATIBLE: " + "; ".join(found) if found else "compatible"
        console.print(f"{full_name}: would be version {version}, {verdict}", highlight=False)
    if any(problems.values()):
        raise typer.Exit(1)


@app.command("release")
def release_command(
    dry_run: Annotated[bool, typer.Option(help="Only say what would be released.")] = False,
) -> None:
    """Record each changed, compatible message schema as its next version in schemas/history."""
    schemas = load_schemas()
    with reporting_errors(console):
        written = pending_releases(schemas) if dry_run else release(schemas)
    for full_name, version in written.items():
        console.print(f"{'would release' if dry_run else 'released'} {full_name} version {version}")
    if not written:
        console.print("Nothing to release.")


app()
