"""``pumpguard demo``: the whole system on one machine, on embedded defaults (thin: see :mod:`pumpguard.demo`).

Simulate the default network with faults, explore it, train a detector on the first part in time and
assess it on the rest (the offline report); then stream the rest as telemetry through an embedded
MQTT broker (or ``--broker URL``) to the scoring service, the controller service and the live
dashboard; at the end write the run report with the live figures.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer

from pumpguard.cli._common import console, err_console, is_interactive, user_errors

#: Interactive default: ten simulated minutes a second -- a simulated day in 2.4 minutes, so a fault
#: in the streamed days shows within a few minutes, and the dashboard still moves point by point.
INTERACTIVE_SPEED = 600.0


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for the demo's data and reports."),
    days: float = typer.Option(21.0, "--days", help="Days of network to simulate (1-minute steps)."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same data."),
    detector: str = typer.Option("pca", "--detector", help="Detector to train and assess (see `pumpguard train --help`)."),
    duration: float | None = typer.Option(None, "--duration", min=0.1,
                                          help="Stop the live part after this many seconds (default: interactive until Ctrl-C, unattended when the stream is through)."),
    speed: float | None = typer.Option(None, "--speed", min=0.001,
                                       help=f"Stream at this multiple of real time (default {INTERACTIVE_SPEED:g} interactive, as fast as possible unattended)."),
    broker: str | None = typer.Option(None, "--broker", help="Use this MQTT broker (mqtt://host:port) instead of the embedded one."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the dashboard listens on."),
    port: int | None = typer.Option(None, "--port", help="Dashboard port (default 8000 interactive, a free one unattended; 0 picks a free one)."),
    unattended: bool | None = typer.Option(None, "--unattended/--interactive",
                                           help="Unattended: stream, write the report, exit (default when not on a terminal)."),
    outside_faults: bool = typer.Option(True, "--train-outside-faults/--train-on-all-normal",
                                        help="Leave the fault windows the simulation recorded in the training part out of training (default), or learn every NORMAL-labelled row."),
    live: bool = typer.Option(True, "--live/--offline", help="--offline: only simulate, train, assess and report."),
) -> None:
    """Run the whole system: simulated network with faults -> MQTT -> scorer -> controller -> dashboard.

    Prints the dashboard URL and stays up until Ctrl-C (interactive), or streams the rest of the
    simulation once and exits (--unattended, the default off a terminal); then writes the run report.

    Example: pumpguard demo --out out/demo --duration 60 --speed 3000
    """
    with user_errors():
        from pumpguard.cli import _model_runs as runs
        from pumpguard.demo.offline import prepare, write_index
        from pumpguard.stream.connection import Broker

        if broker is not None:
            Broker.from_url(broker)  # a bad URL is one clear error now, not after the offline part
        attended = is_interactive() if unattended is None else not unattended
        try:
            prepared = prepare(out, days=days, seed=seed, detector=detector, clean=outside_faults, step=_step,
                               train=runs.train_with_progress)
        except KeyboardInterrupt:
            err_console.print("demo stopped before the live part (Ctrl-C); no run report", highlight=False)
            raise typer.Exit(130) from None
        transitions = prepared.result.transitions_frame()
        for line in runs.headline_lines(prepared.assessment, prepared.head) + [
                f"simulated     controller {len(transitions)} transitions in closed loop; "
                f"{int((transitions['to'] == 'BROKEN').sum())} BROKEN, "
                f"{int((transitions['to'] == 'ISOLATING').sum())} isolations"]:
            console.print(f"  {line}", highlight=False)
        if not live:
            page = write_index(prepared)
        else:
            page = _live(prepared, attended=attended, duration=duration, speed=speed, broker=broker, host=host,
                         port=(8000 if attended else 0) if port is None else port)
    console.print(f"\n[bold green]run report:[/] {page}", highlight=False)
    console.print("open it in a browser; every page it links works offline.")
    if not attended:
        console.print(f"the interactive demo (dashboard until Ctrl-C): pumpguard demo --out {out} --interactive",
                      highlight=False)


def _step(message: str) -> None:
    err_console.print(f"[bold cyan]demo[/] {message}", highlight=False)


def _live(prepared, *, attended: bool, duration, speed, broker, host: str, port: int) -> Path:
    from pumpguard.demo.live import LiveDemo
    from pumpguard.demo.live_report import live_figures, live_html, summary_lines
    from pumpguard.demo.offline import write_index
    from pumpguard.network.topology import load_network

    frame = prepared.stream_frame()
    pace = speed if speed is not None else (INTERACTIVE_SPEED if attended else None)
    _step(f"live: streaming {len(frame):,} rows ({frame.index[0]} ..) "
          f"{'as fast as the broker takes them' if pace is None else f'at {pace:g}x real time'} through "
          f"{broker or 'the embedded broker'} -> scorer -> controller -> dashboard")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    system = LiveDemo(prepared.trained, frame, prepared.dataset.sensors, data_dir=prepared.out / "simulation",
                      models_dir=prepared.model_path.parent, broker_url=broker, speed=pace, host=host, port=port,
                      repairs=prepared.result.events)
    try:
        system.start()
        console.print(f"[bold green]dashboard:[/] {system.url}   (API {system.server_url}/docs; broker {system.broker_url})",
                      highlight=False, soft_wrap=True)
        if attended:
            import os

            told = ("the token in PUMPGUARD_API_TOKEN" if os.environ.get("PUMPGUARD_API_TOKEN")
                    else f"this run's token: {system.token}")
            console.print(f"acknowledging alarms on the page needs {told}", highlight=False, soft_wrap=True)
            console.print("Ctrl-C stops everything and writes the run report.", highlight=False)
        system.wait(stop, duration_s=duration, until_caught_up=not attended,
                    on_stream_end=(lambda: _step("live: every row streamed and predicted; the dashboard stays up "
                                                 "until Ctrl-C")) if attended else None)
        seconds = system.seconds
    finally:
        system.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _step("live: stopped; writing the run report")
    from pumpguard.workflows.scoring import score

    offline_scores = score(prepared.trained, prepared.dataset)["scores"]
    figures = live_figures(system.recorder.record, dataset=prepared.dataset, events=prepared.result.events,
                           wn=load_network("pumpguard"), rows_sent=system.feed.rows_sent if system.feed else 0,
                           stream_start=prepared.stream_start, offline_scores=offline_scores, seconds=seconds,
                           repair_reports=system.feed.reports_sent if system.feed else 0)
    live_json = prepared.out / "live.json"
    live_json.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    for line in summary_lines(figures):
        console.print(f"  {line}", highlight=False)
    return write_index(prepared, live_fragment=live_html(figures, broker=broker or "embedded broker (rumqttd)"),
                       extra_links=(("live run figures (live.json)", live_json),))
