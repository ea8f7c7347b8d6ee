"""The offline part of the demo: simulate, explore, train on the first part in time, assess the rest,
and the run report page that links it all (``index.html``; the live part is added by the CLI).

Training: the first part in time (60 % training, 20 % validation for the threshold), as a plant
trains on the history it has and then watches what comes next. The live stream is the time after
training and validation -- exactly the rows the offline assessment scores, so the live figures and
the offline ones are about the same rows and can be checked against each other.

The demo's scenario (:func:`demo_faults`) is laid out for that split, so each part shows what it is
for: the training part holds a bearing failure (BROKEN, then RECOVERING) and a stuck logger; the
validation part is clean running, where the threshold is set; the streamed part holds a growing leak,
a burst on a zone main and a pump trip, which the detector and the controller meet live. Positions
and durations scale with ``--days``. ``pumpguard simulate --faults default`` keeps the denser default
scenario for assessment runs.

``clean=True`` (the demo's default; ``--train-on-all-normal`` turns it off) leaves out of training the
rows inside the fault windows the simulation recorded (``train(..., exclude=...)``, as ``pumpguard
train --exclude-events``), as a plant leaves out the stretches its maintenance log marks as failing:
``machine_status`` says NORMAL while a bearing wears or a logger sticks, and a detector of NORMAL rows
would learn them as normal. The fault table of the streamed time is never used for training.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

log = logging.getLogger("pumpguard.demo")


@dataclass
class Prepared:
    """What the offline part made: the simulation, its files, the trained model and its assessment."""

    out: Path
    result: object
    sim_paths: dict
    eda: object
    trained: object
    model_path: Path
    assessment: dict
    head: dict

    @property
    def dataset(self):
        return self.result.dataset

    @property
    def stream_start(self) -> pd.Timestamp:
        """First row after training and validation: where the assessment and the live stream begin."""
        return pd.Timestamp(self.assessment["slice"]["start"])

    def stream_frame(self) -> pd.DataFrame:
        """The model's sensor columns of the rows the live demo streams."""
        frame = self.dataset.frame
        return frame.loc[frame.index >= self.stream_start, list(self.trained.sensor_ids)]


def demo_faults(days: float) -> str:
    """The demo's fault scenario for a run of ``days`` (see the module docstring), as a fault spec.

    >>> demo_faults(20).split(";")[0]
    'pump_bearing:start=172800s,duration=259200s,repair=86400s'
    """
    def at(fraction: float) -> int:  # whole minutes, so every fault starts on the sampling grid
        return int(round(fraction * days * 1440)) * 60

    def span(fraction: float, floor_s: int = 3600) -> int:
        return max(floor_s, at(fraction))

    return ";".join((
        f"pump_bearing:start={at(0.10)}s,duration={span(0.15)}s,repair={span(0.05)}s",
        f"sensor_stuck@pressure_J-N3:start={at(0.45)}s,duration={span(0.03)}s",
        f"leak@P-N2:start={at(0.82)}s,growth={span(0.03)}s,duration={span(0.06)}s,severity=1.2",
        f"burst@J-S3:start={at(0.90)}s,duration={span(0.03)}s",
        f"pump_trip:start={at(0.96)}s,duration={span(0.01)}s",
    ))


def prepare(out: Path, *, days: float, seed: int, detector: str, clean: bool = True,
            step: Callable[[str], None] = log.info, train=None) -> Prepared:
    """Simulate ``days`` of the default network with the demo's faults, write the EDA, train
    ``detector`` (``clean``: outside the recorded fault windows, see the module docstring) and assess
    it; files under ``out`` (see :func:`write_index` for the page). ``train``: the training call
    (default :func:`pumpguard.detectors.training.train`; the CLI passes one with a progress bar)."""
    from pumpguard.data.eda_report import write_eda
    from pumpguard.detectors.training import train as train_model
    from pumpguard.detectors.model_file import save_model
    from pumpguard.evaluation.assessment import headline
    from pumpguard.network.simulate import simulate, write_simulation
    from pumpguard.workflows.assessing import assess_to_folder, known_abnormal_rows

    out.mkdir(parents=True, exist_ok=True)
    step(f"1/4 simulating {days:g} days of the default network with faults (closed loop with the controller)")
    result = simulate("pumpguard", days=days, faults=demo_faults(days), seed=seed)
    sim_paths = write_simulation(result, out / "simulation")
    step("2/4 exploring the data (EDA)")
    eda = write_eda(result.dataset, out / "eda")
    from pumpguard.detectors.registry import make_detector

    clean = clean and not make_detector(detector).supervised  # a supervised one learns the faults' labels
    step(f"3/4 training {detector} on the first 60 % of the time span (NORMAL rows"
         + (", outside the fault windows the simulation recorded)" if clean else ")"))
    kwargs = {"exclude": known_abnormal_rows(result.dataset, sim_paths["events"])} if clean else {}
    trained = (train or train_model)(result.dataset, detector, {}, **kwargs)
    model_path = out / "models" / f"{detector}.skops"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    save_model(trained, model_path)
    step("4/4 assessing on the time after training and validation")
    assessment = assess_to_folder(trained, result.dataset, out / "assessment", model_label=str(model_path),
                                  fault_dir=out / "simulation", network="pumpguard")
    return Prepared(out, result, sim_paths, eda, trained, model_path, assessment, headline(assessment))


def _rel(path: Path, base: Path) -> str:
    return html.escape(str(Path(path).resolve().relative_to(base.resolve())))


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="t", escape=True, na_rep="")


def write_index(p: Prepared, *, live_fragment: str = "", extra_links: tuple[tuple[str, Path], ...] = ()) -> Path:
    """Write ``index.html``: the offline assessment, the fault table, the simulated controller's
    transitions and actions, the network picture, and ``live_fragment`` (the live run) when given."""
    base = p.out
    result, head = p.result, p.head
    transitions = result.transitions_frame()
    actions = [f"{t['ts']}: {t['from']} -> {t['to']} ({t['reason']}); actions: "
               + ", ".join(f"{a['kind']} {a['element']}" for a in json.loads(t["actions"]))
               for t in transitions.to_dict("records") if t["actions"] != "[]"]
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in head.items())
    links = [("EDA report", p.eda.report), ("assessment", base / "assessment" / "assessment.html"),
             ("simulated data (CSV)", p.sim_paths["data"]), ("sensors.json", p.sim_paths["sensors"]),
             ("fault ground truth (events.csv)", p.sim_paths["events"]),
             ("controller transitions (controller.csv)", p.sim_paths["controller"]),
             ("model file", p.model_path), *extra_links]
    link_html = "".join(f'<li><a href="{_rel(f, base)}">{html.escape(t)}</a></li>' for t, f in links)
    picture = _rel(p.sim_paths["picture"], base)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
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
{live_fragment}
<h2>Faults (ground truth)</h2>{_table(result.events)}
<h2>Simulated controller transitions (closed loop)</h2>{_table(transitions)}
<h2>Simulated controller actions</h2><ul>{''.join(f'<li>{html.escape(a)}</li>' for a in actions) or '<li>none</li>'}</ul>
<h2>The network</h2><img src="{picture}" alt="network with sensors and fault locations">
</body></html>"""
    target = base / "index.html"
    target.write_text(page, encoding="utf-8")
    return target
