"""The ``cxnlp`` command line (typer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cxnlp import __version__
from cxnlp.taxonomy import Taxonomy, TaxonomyError

app = typer.Typer(
    name="cxnlp",
    help="Tag what customers write about the people who served them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"cxnlp {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """cxnlp: staff soft skills and Albrecht's seven sins of service in customer comments."""


TaxonomyOpt = Annotated[
    Path | None, typer.Option("--taxonomy", help="A taxonomy TOML file (default: the bundled cx-default taxonomy).")
]


def _load_taxonomy(path: Path | None) -> Taxonomy:
    try:
        return Taxonomy.load(path)
    except TaxonomyError as exc:
        raise fail(str(exc)) from None


@app.command()
def labels(
    taxonomy: TaxonomyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the taxonomy as JSON.")] = False,
) -> None:
    """List the taxonomy's labels and their output keys."""
    tax = _load_taxonomy(taxonomy)
    if as_json:
        typer.echo(json.dumps(tax.to_dict(), indent=2, ensure_ascii=False))
        return
    table = Table(
        title=f"{tax.name} {tax.version}: {len(tax.skills)} skills, {len(tax.sins)} sins, {len(tax.keys)} keys"
    )
    table.add_column("label", style="bold")
    table.add_column("kind")
    table.add_column("keys")
    table.add_column("description", overflow="fold")
    for lab in tax.labels:
        table.add_row(lab.name, lab.kind, " ".join(lab.keys), lab.description)
    console.print(table)
