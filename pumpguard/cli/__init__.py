"""The ``pumpguard`` command: thin -- it parses arguments, calls library functions, prints.

Each domain registers its commands from its own module so the command groups stay apart:
``data_commands`` (eda, sample, generate-record), ``model_commands`` (train, predict, assess,
compare, model), ``network_commands`` (simulate), ``stream_commands`` (serve, replay, listen), ``control_commands`` (controller), ``api_commands`` (api),
``bench_commands`` (bench), ``demo_command``.
"""

from __future__ import annotations

import typer

from pumpguard import __version__
from pumpguard.cli import (
    api_commands,
    bench_commands,
    data_commands,
    demo_command,
    model_commands,
    control_commands,
    network_commands,
    stream_commands,
)

app = typer.Typer(
    name="pumpguard",
    help="Watch a water-pump sensor network: find anomalies and failures as they start, say where they are.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pumpguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Watch a water-pump sensor network: find anomalies and failures as they start, say where they are.

    Example: pumpguard sample --out data.csv --days 30 && pumpguard eda data.csv --out report/
    """


for _module in (
    data_commands,
    model_commands,
    network_commands,
    stream_commands,
    control_commands,
    api_commands,
    bench_commands,
    demo_command,
):
    _module.register(app)


def main() -> None:
    app()
