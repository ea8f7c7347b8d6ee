"""Data commands: ``eda`` (a self-contained HTML report), ``sample`` (SYNTHETIC labelled data) and
``generate-record`` (append random records to a CSV)."""

from __future__ import annotations

import csv
import json
import secrets
import warnings
from contextlib import contextmanager
from typing import Iterator
from pathlib import Path

import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pumpguard.cli._common import console, err_console, user_errors, warn
from pumpguard.data import formats
from pumpguard.data.readers import read_dataset
from pumpguard.data.schema import STATUS_COLUMN
from pumpguard.data.validation import DataQualityWarning
from pumpguard.data.synthetic import SENSOR_IDS, make_records, make_sample, sample_failures
from pumpguard.data.writers import write_csv
from pumpguard.errors import ConfigError, DataFormatError


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("eda")(eda)
    app.command("sample")(sample)
    app.command("generate-record")(generate_record)


@contextmanager
def _quality_notes(show: bool = True) -> Iterator[None]:
    """Reading's data-quality warnings as one ``note:`` line each (or not at all), never a source line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        yield
    for w in caught:
        if show and issubclass(w.category, DataQualityWarning):
            warn(str(w.message))
        elif not issubclass(w.category, DataQualityWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False)


def eda(
    data: Path = typer.Argument(..., help="Sensor data: pump-sensor or SKAB CSV, generic CSV/Parquet."),
    out: Path = typer.Option(..., "--out", help="Folder for report.html and summary.json (created if needed)."),
    kind: str = typer.Option("auto", "--kind", help="File layout: auto, pump, skab or generic."),
    timestamp_column: str | None = typer.Option(None, "--timestamp-column", help="Time column of a generic file."),
    label_column: str | None = typer.Option(None, "--label-column", help="Label column of a generic file."),
    max_points: int = typer.Option(5000, "--max-points", min=4,
                                   help="At most this many points per plotted series (bucket means)."),
) -> None:
    """Explore a sensor table: write a one-file HTML report (works offline) and summary.json.

    The report has the head of the table, a summary per column, time span, sampling step and gaps,
    label counts and failure events (BROKEN runs and the RECOVERING after them; SKAB anomaly runs),
    all sensors over time with the labels overlaid, distributions, a missing-value map and a
    correlation heatmap.

    Example: pumpguard eda data.csv --out report/
    """
    with user_errors(), _quality_notes():
        with _progress() as bar:
            task = bar.add_task(f"reading {data.name}", total=None)
            dataset = read_dataset(data, kind=kind, timestamp_column=timestamp_column, label_column=label_column)
            from pumpguard.data.eda_report import write_eda  # matplotlib loads only for this command

            def step(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=what)

            result = write_eda(dataset, out, max_points=max_points, progress=step)
        s = result.summary
        console.print(f"{s['rows']:,} rows x {s['sensor_count']} sensors; report: {result.report}; "
                      f"summary: {result.summary_path}", highlight=False, soft_wrap=True)


def sample(
    out: Path = typer.Option(..., "--out", help="CSV file to write (.csv or .csv.gz)."),
    days: float = typer.Option(30.0, "--days", help="How many days of data."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same file."),
    step: int = typer.Option(60, "--step", min=1, help="Seconds between rows."),
    generator: str = typer.Option("network", "--generator",
                                  help="'network': the hydraulic simulation of the default network with its "
                                       "default faults (physically grounded); 'statistical': the fast "
                                       "statistical generator in the published 52-sensor layout."),
    failures: int | None = typer.Option(None, "--failures", min=0,
                                        help="statistical only: number of failure events (default: about one "
                                             "per 22 days, at least one)."),
) -> None:
    """Write a SYNTHETIC labelled pump-sensor dataset (not measurements) in the published schema.

    By default this is a thin front on `pumpguard simulate`: the default pump network with its default
    fault scenario (leaks, bursts, a blockage, bearing wear, a trip, a power loss, sensor faults) in
    closed loop with the controller, sensors named sensor_00 ..., machine_status from the controller.
    Beside the CSV: sensors.json, events.csv (the fault ground truth), controller.csv, network.png.

    --generator statistical writes 52 sensors sensor_00..sensor_51 (sensor_15 empty, as published) with
    failure events where a few sensors drift for hours to days before BROKEN (minutes), then RECOVERING
    (hours); beside it sensors.json and <name>.failures.csv (the events, with their onset).

    Example: pumpguard sample --out data.csv --days 30 --seed 7
    """
    with user_errors():
        if generator == "network":
            _sample_network(out, days=days, seed=seed, step=step)
        elif generator == "statistical":
            _sample_statistical(out, days=days, seed=seed, step=step, failures=failures)
        else:
            raise ConfigError(f"--generator {generator!r}: expected 'network' or 'statistical'")


def _sample_network(out: Path, *, days: float, seed: int, step: int) -> None:
    from pumpguard.network.simulate import simulate, write_simulation

    if not days > 0:
        raise ConfigError(f"days must be a positive number, got {days!r}")
    result = simulate("pumpguard", days=days, step_seconds=step, faults="default", seed=seed)
    paths = write_simulation(result, out.parent, data_name=out.name)
    console.print(f"SYNTHETIC (simulated network): {len(result.dataset):,} rows x {len(result.sensors)} sensors, "
                  f"{len(result.events)} faults, {len(result.transitions)} controller transitions -> {out} "
                  f"(beside it: {', '.join(p.name for k, p in paths.items() if k != 'data')})",
                  highlight=False, soft_wrap=True)


def _sample_statistical(out: Path, *, days: float, seed: int, step: int, failures: int | None) -> None:
    dataset = make_sample(days, seed=seed, step_seconds=step, failures=failures)
    events = sample_failures(days, seed=seed, step_seconds=step, failures=failures)
    write_csv(dataset, out)
    stem = out.name.removesuffix(".gz").removesuffix(".csv")
    events_path = out.with_name(f"{stem}.failures.csv")
    table = events.assign(sensors=events["sensors"].map(" ".join),
                          lead_time=events["lead_time"].dt.total_seconds().astype(int))
    table.rename(columns={"lead_time": "lead_time_s"}).to_csv(events_path, index=False)
    sensors_path = out.with_name("sensors.json")
    sensors_path.write_text(json.dumps([s.to_dict() for s in dataset.sensors], indent=1), encoding="utf-8")
    console.print(f"SYNTHETIC: {len(dataset):,} rows x {len(dataset.sensor_ids)} sensors with "
                  f"{len(events)} failure event(s) -> {out} (events: {events_path.name}, "
                  f"sensors: {sensors_path.name})", highlight=False, soft_wrap=True)


def _header(path: Path) -> list[str] | None:
    """The header cells of an existing CSV, or None when the file is missing or empty."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open(newline="", encoding="utf-8") as f:
        first = f.readline()
    return next(csv.reader([first]), None)


def _check_header(path: Path, header: list[str]) -> None:
    known = {formats.PUMP_TIMESTAMP, STATUS_COLUMN, *SENSOR_IDS, *formats.INDEX_COLUMN_NAMES}
    unknown = [c for c in header if c not in known]
    if formats.PUMP_TIMESTAMP not in header or unknown:
        raise DataFormatError("the file is not in the pump-sensor schema, so records cannot be appended",
                              path=path, line=1, found=unknown or header[:4],
                              expected="a header of timestamp, sensor_00..sensor_51 and machine_status",
                              hint="append to a pump-sensor CSV or give a new file name")


def _last_index_value(path: Path) -> int:
    """The row number in the leading unnamed column of the file's last line."""
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().decode("utf-8", errors="replace").rstrip("\r\n").splitlines()
    try:
        return int(float(next(csv.reader([tail[-1]]))[0]))
    except (ValueError, IndexError):
        raise DataFormatError("the last line's row number is not a whole number", path=path,
                              found=tail[-1][:40] if tail else "", expected="a row number in the first column") from None


def generate_record(
    out: Path = typer.Option(..., "--out", help="CSV file to append to (created with a header if new or empty)."),
    count: int = typer.Option(1, "--count", min=1, help="How many records to append."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: a fresh one each run)."),
    step: int = typer.Option(60, "--step", min=1, help="Seconds between records."),
) -> None:
    """Append plausible random records (SYNTHETIC, NORMAL) in the pump-sensor schema to a CSV.

    Time stamps continue one step after the file's last row, or start at the current UTC minute
    for a new file. The columns follow the file's own header, so the result stays readable.

    Example: pumpguard generate-record --out records.csv --count 10
    """
    with user_errors():
        if seed is None:
            seed = secrets.randbits(32)
        if out.name.endswith(".gz"):
            raise ConfigError(f"--out {out}: records cannot be appended to a compressed file; "
                              "give a plain .csv file")
        header = _header(out)
        start = pd.Timestamp.now(tz="UTC").floor("min")
        if header is None:
            write_csv(make_records(count, start=start, seed=seed, step_seconds=step), out)
            console.print(f"wrote {count} record(s) to new file {out}", highlight=False)
            return
        _check_header(out, header)
        with out.open("rb") as f:
            has_rows = sum(1 for line in f if line.strip()) > 1
        if has_rows:
            with _quality_notes(show=False):  # only the last time stamp is needed here
                start = read_dataset(out, kind="pump").index[-1] + pd.Timedelta(seconds=step)
        records = make_records(count, start=start, seed=seed, step_seconds=step).frame
        first_number = _last_index_value(out) + 1 if has_rows and header[0] in formats.INDEX_COLUMN_NAMES else 0
        with out.open("rb+") as f:  # the last line may lack its newline
            f.seek(0, 2)
            if f.tell() and (f.seek(-1, 2), f.read(1))[1] != b"\n":
                f.write(b"\n")
        stamps = records.index.strftime("%Y-%m-%d %H:%M:%S").tolist()
        columns = []
        for c in header:
            if c in formats.INDEX_COLUMN_NAMES:
                columns.append([str(first_number + k) for k in range(count)])
            elif c == formats.PUMP_TIMESTAMP:
                columns.append(stamps)
            elif c == STATUS_COLUMN:
                columns.append(records[STATUS_COLUMN].astype(str).tolist())
            else:
                columns.append(["" if pd.isna(v) else repr(float(v)) for v in records[c]])
        with out.open("a", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(zip(*columns))
        console.print(f"appended {count} record(s) to {out}, from {records.index[0]:%Y-%m-%d %H:%M:%S} UTC",
                      highlight=False)
