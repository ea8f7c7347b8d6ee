"""``pumpguard demo``: the main job on embedded defaults, grown issue by issue."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for the demo's data and reports."),
    days: int = typer.Option(30, "--days", help="Days of synthetic data to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same data."),
) -> None:
    """Run the main job end to end on generated data and print where the report is.

    Example: pumpguard demo --out out/demo
    """
    typer.echo("demo: not wired yet")
