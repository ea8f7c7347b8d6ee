"""Network commands: ``simulate`` (closed-loop hydraulic simulation with faults, sensors and the controller)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pumpguard.cli._common import console, err_console, user_errors


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("simulate")(simulate)


def simulate(
    network: str = typer.Option("pumpguard", "--network",
                                help="Network: pumpguard (default), Net3 (WNTR's example) or a path to an EPANET .inp."),
    days: float = typer.Option(150.0, "--days", help="Simulated days."),
    step: int = typer.Option(60, "--step", help="Sampling step in seconds (EPANET's hydraulic step too)."),
    faults: str = typer.Option("default", "--faults",
                               help="Faults: 'default', 'none', a spec like "
                                    "\"leak@P-N1:start=2d,growth=1d;pump_trip:start=5d,duration=2h\" "
                                    "or a .json file (grammar: docs/network.md)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same data."),
    out: Path = typer.Option(..., "--out", help="Folder for data.csv, sensors.json, events.csv, controller.csv, "
                                                "network.png (created if needed)."),
    readable_ids: bool = typer.Option(False, "--readable-ids",
                                      help="Name columns like pressure_J-N3 instead of sensor_00, sensor_01, ..."),
) -> None:
    """Simulate the pump network with faults and the controller in closed loop; write labelled data.

    Example: pumpguard simulate --days 150 --faults default --seed 0 --out sim/

    Example: pumpguard simulate --network Net3 --days 3 --faults "burst@101:start=1d,duration=6h" --out net3/
    """
    from pumpguard.network.simulate import simulate as run, write_simulation

    with user_errors():
        started = time.perf_counter()
        # The bar appears with the first simulated day, so a bad argument is one line, not a bar and a line.
        bar = Progress(TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                       TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False)
        task = bar.add_task("simulate", total=None)
        shown = []

        def progress(done: int, total: int) -> None:
            if not shown:
                bar.start()
                shown.append(True)
            bar.update(task, completed=done, total=total)

        try:
            result = run(network, days=days, step_seconds=step, faults=faults, seed=seed,
                         readable_ids=readable_ids, progress=progress)
        finally:
            if shown:
                bar.stop()
        paths = write_simulation(result, out)
        took = time.perf_counter() - started
    frame = result.dataset.frame
    status = frame["machine_status"].value_counts().to_dict()
    console.print(f"simulated {days:g} days of {result.network.name} at {step} s: {len(frame):,} rows x "
                  f"{len(result.sensors)} sensors, {len(result.events)} faults, {len(result.transitions)} "
                  f"controller transitions in {took:.1f} s")
    console.print("machine_status: " + ", ".join(f"{k} {v:,}" for k, v in status.items()))
    for path in paths.values():
        console.print(f"  {Path(path)}")
