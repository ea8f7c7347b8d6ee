"""``pumpguard demo``: the main job end to end on embedded defaults.

Today it runs offline and unattended: simulate the default network with faults in closed loop with
the controller, explore the data, train a detector on the first part in time, assess it on the rest,
and write one run report that links everything. Nothing to install, no server.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import typer

from pumpguard.cli._common import console, err_console, is_interactive, user_errors


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for the demo's data and reports."),
    days: float = typer.Option(21.0, "--days", help="Days of network to simulate (1-minute steps)."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same data."),
    detector: str = typer.Option("pca", "--detector", help="Detector to train and assess (see `pumpguard train --help`)."),
) -> None:
    """Simulate the default pump network with faults, explore it, train and assess a detector, and print
    where the run report is.

    Example: pumpguard demo --out out/demo --days 21
    """
    with user_errors():
        report = run_demo(out, days=days, seed=seed, detector=detector)
    console.print(f"\n[bold green]run report:[/] {report}")
    console.print("open it in a browser; every page it links works offline.")


def _step(message: str) -> None:
    err_console.print(f"[bold cyan]demo[/] {message}", highlight=False)


def run_demo(out: Path, *, days: float, seed: int, detector: str) -> Path:
    from pumpguard.cli import _model_runs as runs
    from pumpguard.data.eda_report import write_eda
    from pumpguard.network.simulate import simulate, write_simulation

    out.mkdir(parents=True, exist_ok=True)
    _step(f"1/4 simulating {days:g} days of the default network with faults (closed loop with the controller)")
    result = simulate("pumpguard", days=days, faults="default", seed=seed)
    sim_paths = write_simulation(result, out / "simulation")
    dataset = result.dataset

    _step("2/4 exploring the data (EDA)")
    eda = write_eda(dataset, out / "eda")

    _step(f"3/4 training {detector} on the first 60 % of the time span (normal rows only)")
    trained = runs.train_with_progress(dataset, detector, {})
    from pumpguard.detectors.model_file import save_model

    model_path = out / f"{detector}.skops"
    save_model(trained, model_path)

    _step("4/4 assessing on the time after training and validation")
    assessment = runs.assess_to_folder(trained, dataset, out / "assessment", model_label=str(model_path))
    from pumpguard.evaluation.assessment import headline

    head = headline(assessment)
    page = out / "index.html"
    page.write_text(_run_report(result, sim_paths, eda, model_path, head, assessment), encoding="utf-8")
    for line in runs.headline_lines(assessment, head):
        console.print(f"  {line}", highlight=False)
    transitions = result.transitions_frame()
    console.print(f"  controller    {len(transitions)} transitions; "
                  f"{int((transitions['to'] == 'BROKEN').sum())} BROKEN, "
                  f"{int((transitions['to'] == 'ISOLATING').sum())} isolations", highlight=False)
    return page


def _rel(path: Path, base: Path) -> str:
    return html.escape(str(Path(path).resolve().relative_to(base.resolve())))


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="t", escape=True, na_rep="")


def _run_report(result, sim_paths: dict, eda, model_path: Path, head: dict, assessment: dict) -> str:
    base = Path(eda.report).parent.parent
    transitions = result.transitions_frame()
    actions = [f"{t['ts']}: {t['from']} -> {t['to']} ({t['reason']}); actions: "
               + ", ".join(f"{a['kind']} {a['element']}" for a in json.loads(t["actions"]))
               for t in transitions.to_dict("records") if t["actions"] != "[]"]
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in head.items())
    links = [("EDA report", eda.report), ("assessment", base / "assessment" / "assessment.html"),
             ("simulated data (CSV)", sim_paths["data"]), ("sensors.json", sim_paths["sensors"]),
             ("fault ground truth (events.csv)", sim_paths["events"]),
             ("controller transitions (controller.csv)", sim_paths["controller"]),
             ("model file", model_path)]
    link_html = "".join(f'<li><a href="{_rel(p, base)}">{html.escape(t)}</a></li>' for t, p in links)
    picture = _rel(sim_paths["picture"], base)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>pumpguard demo run</title><style>
body{{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1b1b}}
table.t,table.h{{border-collapse:collapse;margin:.5rem 0 1.5rem}} td,th{{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}}
img{{max-width:100%}} code{{background:#f3f3f3;padding:0 .2rem}}</style></head><body>
<h1>pumpguard demo run</h1>
<p>{html.escape(result.dataset.source)}: {len(result.dataset):,} rows x {len(result.dataset.sensor_ids)} sensors.
{html.escape(' '.join(result.dataset.notes))}</p>
<ul>{link_html}</ul>
<h2>Detector assessment (time after training and validation)</h2>
<table class="h">{rows}</table>
<h2>Faults (ground truth)</h2>{_table(result.events)}
<h2>Controller transitions</h2>{_table(transitions)}
<h2>Controller actions</h2><ul>{''.join(f'<li>{html.escape(a)}</li>' for a in actions) or '<li>none</li>'}</ul>
<h2>The network</h2><img src="{picture}" alt="network with sensors and fault locations">
</body></html>"""
