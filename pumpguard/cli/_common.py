"""What every command shares: turning pumpguard's errors into one clear line and an exit code."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

import typer
from rich.console import Console

from pumpguard.errors import PumpguardError

console = Console()
err_console = Console(stderr=True)

#: Exit code for bad input (a file, a parameter): the user can fix it.
EXIT_BAD_INPUT = 2


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print a :class:`PumpguardError` as one line on stderr and exit with code 2, no traceback."""
    try:
        yield
    except PumpguardError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except FileNotFoundError as exc:
        err_console.print(f"[bold red]error:[/] no such file: {exc.filename}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def warn(message: str) -> None:
    err_console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)


def is_interactive() -> bool:
    return sys.stderr.isatty()
