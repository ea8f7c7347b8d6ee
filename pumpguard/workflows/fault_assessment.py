"""Fault-event and localisation assessment for ``pumpguard assess`` on simulated data.

When ``events.csv`` (the fault ground truth ``pumpguard simulate`` writes) lies beside the data,
:func:`assess_faults_and_locations` adds two sections to the assessment:

* ``faults``: every fault that starts in the assessed slice, caught or missed by the alarms, with its
  detection delay; per kind and per category (process / sensor); false alarms per day outside every
  fault (:func:`pumpguard.evaluation.faults.assess_faults`);
* ``localisation``: for each caught leak or burst, the detector's per-sensor contributions over the
  first :data:`LOCATING_ROWS` alarm rows inside the fault (before the controller's isolation changed
  the hydraulics: see :func:`_locating_rows`), ranked onto the network's junctions and pipes
  (:func:`pumpguard.network.localisation.rank_locations`) with the sensor positions of ``sensors.json``,
  and scored against the true location (:func:`pumpguard.network.localisation.assess_localisation`).

This joins evaluation (pure) with the network (topology), so it lives in the workflows layer.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from pumpguard.errors import ConfigError

#: Alarm rows whose contributions are averaged to locate a leak/burst: the controller's debounce (3
#: confirming observations). After that the controller may isolate the segment and reroute, and the
#: pressures then show the new route rather than the leak; three rows also average out some noise.
LOCATING_ROWS = 3
#: Candidates kept per fault (the table shows the first).
TOP_CANDIDATES = 5
LOCATED_KINDS = ("leak", "burst")


def assess_faults_and_locations(trained, dataset, scored: dict, report: dict, *, data_path=None,
                                fault_dir: Path | None = None, network: str | None = None) -> dict | None:
    """``{"faults": ..., "localisation": ...}`` for the report, or None when there is no ``events.csv``.

    ``fault_dir``: the folder holding ``events.csv`` and ``sensors.json`` (default: beside
    ``data_path``, else beside ``dataset.source``). ``network``: name or .inp path of the network the
    data was simulated on (default: the one ``sensors.json`` records, else the default network).
    """
    from pumpguard.data.events import ground_truth_beside, read_events
    from pumpguard.evaluation.faults import assess_faults

    if fault_dir is not None:
        files = {k: (Path(fault_dir) / f) for k, f in
                 (("events", "events.csv"), ("sensors", "sensors.json"), ("controller", "controller.csv"))}
        files = {k: (p if (p.is_file() or k == "events") else None) for k, p in files.items()}
    else:
        files = ground_truth_beside(data_path if data_path is not None else _as_path(dataset.source))
    events_path = files["events"]
    if events_path is None:
        return None
    events = read_events(events_path)
    alarms = scored["alarms"]
    labels = dataset.labels.loc[alarms.index]
    faults = assess_faults(events, alarms, labels, start=report["slice"]["start"])
    faults["source"] = str(events_path)
    isolations = _isolation_times(files["controller"])
    localisation = _localise(trained, scored, faults, files["sensors"], network, isolations)
    return {"faults": faults, "localisation": _clean(localisation)}


def _as_path(source) -> Path | None:
    if not source:
        return None
    p = Path(str(source))
    return p if p.exists() else None


def _isolation_times(path: Path | None) -> pd.DatetimeIndex:
    """When the controller began isolating (from ``controller.csv``); empty without the file."""
    if path is None:
        return pd.DatetimeIndex([], tz="UTC")
    from pumpguard.data.events import read_transitions

    t = read_transitions(path)
    return pd.DatetimeIndex(t.loc[t["to"] == "ISOLATING", "ts"]).sort_values()


def _locating_rows(index: pd.DatetimeIndex, alarm_on: np.ndarray, item: dict,
                   isolations: pd.DatetimeIndex) -> tuple[np.ndarray, str]:
    """Rows whose contributions locate a caught fault, and which rule picked them.

    The first :data:`LOCATING_ROWS` alarm rows inside the fault, but only before the controller's
    first isolation in the fault (closing valves and opening the alternate route changes every
    pressure and flow: rows after it show the reroute, not the leak). When the detector first alarmed
    only after that isolation, the :data:`LOCATING_ROWS` rows just before it are used instead: what the
    detector's contributions said about the fault before the plant changed."""
    from pumpguard.evaluation.faults import on_clock

    lo = np.searchsorted(index, on_clock(item["window_start"], index), side="left")
    hi = np.searchsorted(index, on_clock(item["end"], index), side="right")
    cut = isolations[(isolations >= on_clock(item["window_start"], isolations))
                     & (isolations <= on_clock(item["end"], isolations))]
    if len(cut):
        hi = min(hi, np.searchsorted(index, on_clock(cut[0], index), side="left"))
    alarmed = lo + np.flatnonzero(alarm_on[lo:hi])[:LOCATING_ROWS]
    if alarmed.size:
        return alarmed, "first alarm rows" + (" before the isolation" if len(cut) else "")
    if len(cut) and hi > lo:
        return np.arange(max(lo, hi - LOCATING_ROWS), hi), "rows before the isolation (first alarm came after it)"
    return np.arange(0), "no row before the isolation"


def _network(network: str | None, recorded: str | None, folder: Path):
    """The network to locate on. A network recorded in ``sensors.json`` is trusted only as a known name
    or an .inp file in the data's own folder: the file may come from elsewhere (the HTTP API assesses
    uploaded folders) and must not make pumpguard read any path it names."""
    from pumpguard.network.topology import DEFAULT_NETWORK, load_network

    if network is not None:
        return load_network(network), str(network), "--network"
    if recorded is not None:
        if not recorded.lower().endswith(".inp"):  # a name (load_network reads no path for a name)
            return load_network(recorded), recorded, "sensors.json"
        local = folder / Path(recorded).name
        if local.suffix.lower() == ".inp" and local.is_file():
            return load_network(local), str(local), "sensors.json (file beside the data)"
    return load_network(DEFAULT_NETWORK), DEFAULT_NETWORK, "default (not recorded with the data)"


def _localise(trained, scored: dict, faults: dict, sensors_path: Path | None, network: str | None,
              isolations: pd.DatetimeIndex) -> dict:
    from pumpguard.data.events import read_sensors
    from pumpguard.network.localisation import assess_localisation, rank_locations

    items = [it for it in faults["items"] if it["kind"] in LOCATED_KINDS]
    out: dict = {"faults": len(items), "located": 0, "locating_rows": LOCATING_ROWS, "skipped": None}
    if not items:
        out["skipped"] = "no leak or burst starts in the assessed slice"
        return out
    if sensors_path is None:
        out["skipped"] = "no sensors.json beside the data: sensor positions unknown"
        return out
    sensor_file = read_sensors(sensors_path)
    wn, name, how = _network(network, sensor_file.network, sensors_path.parent)
    out.update(network=name, network_from=how)
    try:
        _check_placement(sensor_file, wn, name, items, sensors_path)
    except ConfigError as exc:
        if not how.startswith("default"):
            raise  # the user (or the data) named this network: say it does not fit
        out["skipped"] = str(exc)  # only a guess: report the faults, say why nothing was located
        return out

    X = scored["X"]
    alarm_on = np.nan_to_num(scored["alarms"].to_numpy(dtype=float, na_value=np.nan), nan=0.0) > 0
    index = X.index
    picks, rules = [], []
    for it in items:
        if it["first_alarm"] is None:
            picks.append(None)
            rules.append("missed")
            continue
        pos, rule = _locating_rows(index, alarm_on, it, isolations)
        picks.append(pos if pos.size else None)
        rules.append(rule)
    contributions = _contributions(trained.detector, X, [p for p in picks if p is not None])
    sensors = {sid: m for sid, m in sensor_file.by_id().items() if m.element not in _pump_ends(wn)}
    out["station_sensors_left_out"] = sorted(set(sensor_file.by_id()) - set(sensors))
    candidates, rows_used = [], []
    for pos in picks:
        if pos is None or contributions is None:
            candidates.append(None)
            rows_used.append(0)
            continue
        ranked = rank_locations(contributions.iloc[pos], sensors, wn, top=TOP_CANDIDATES)
        candidates.append(ranked if ranked.attrs.get("total_weight", 0) > 0 else None)
        rows_used.append(len(pos))
    truth = pd.DataFrame({"element": [_truth_element(it, wn) for it in items],
                          "start": pd.to_datetime([it["start"] for it in items], utc=True),
                          "first_alarm": pd.to_datetime([it["first_alarm"] for it in items], utc=True)})
    overall = assess_localisation(candidates, truth, wn)
    located = [i for i, c in enumerate(candidates) if c is not None]
    out["located"] = len(located)
    out["over_all_faults"] = {k: overall[k] for k in ("n_events", "top1", "within_2_hops", "within_300m",
                                                      "median_distance_m", "detected", "detection_delay_median_s")}
    if located:
        sub = assess_localisation([candidates[i] for i in located], truth.iloc[located].reset_index(drop=True), wn)
        out["over_located"] = {k: sub[k] for k in ("n_events", "top1", "within_2_hops", "within_300m",
                                                   "median_distance_m")}
    out["items"] = [{
        "event_id": it["event_id"], "kind": it["kind"], "location": truth["element"][i],
        "first_alarm": it["first_alarm"], "rows_used": rows_used[i], "rows_rule": rules[i],
        "candidates": [] if candidates[i] is None else
        [{"element": r.element, "kind": r.kind, "score": round(float(r.score), 4)} for r in candidates[i].itertuples()],
        "top_candidate": None if candidates[i] is None else str(candidates[i]["element"].iloc[0]),
        "distance_m": overall["distance_m"][i], "hops": overall["hops"][i],
    } for i, it in enumerate(items)]
    return out


def _pump_ends(wn) -> set[str]:
    """Each pump and the nodes at its suction and discharge. Their pressures and the pump's flow follow
    the pump's operating point: any leak anywhere slides it along its curve, so the station's sensors
    say how much water is lost, not where. They are left out of the localisation (not of the detector)."""
    return {n for name in wn.pump_name_list for n in (name, wn.get_link(name).start_node_name,
                                                       wn.get_link(name).end_node_name)}


def _truth_element(item: dict, wn) -> str:
    """The fault's place in the network as loaded: the simulator splits a leaking pipe and names the new
    node ``<pipe>-LEAK`` (``element``), which the loaded network lacks, so the pipe (``location``) is used."""
    el, loc = item.get("element") or "", item.get("location") or ""
    if el in wn.node_name_list or el in wn.link_name_list:
        return el
    return loc


def _check_placement(sensor_file, wn, name: str, items: list[dict], sensors_path: Path) -> None:
    """The network must be the one the data came from: its elements carry the sensors and the faults."""
    placed = [s for s in sensor_file.sensors if s.kind in ("pressure", "flow") and s.element]
    elements = set(wn.node_name_list) | set(wn.link_name_list)
    absent = [s for s in placed if s.element not in elements]
    wrong = [it["location"] for it in items if _truth_element(it, wn) not in elements]
    if (placed and len(absent) == len(placed)) or wrong:
        what = (f"fault location(s) {', '.join(sorted(set(wrong)))}" if wrong
                else f"sensor element(s) {', '.join(sorted({s.element for s in absent})[:5])}")
        raise ConfigError(f"network {name!r} does not hold the {what} of {sensors_path.parent}; the data "
                          "were simulated on another network: pass --network NAME|FILE.inp (the one given "
                          "to `pumpguard simulate`)")


def _contributions(detector, X: pd.DataFrame, picks: list[np.ndarray]) -> pd.DataFrame | None:
    """Contributions on the picked rows; a time-aware detector scores from the first row, for its history."""
    if not picks or not any(len(p) for p in picks):
        return None
    wanted = np.unique(np.concatenate(picks))
    if detector.time_aware:
        part = detector.contributions(X.iloc[: wanted[-1] + 1])
        return part
    part = detector.contributions(X.iloc[wanted])
    full = pd.DataFrame(np.nan, index=X.index[: wanted[-1] + 1], columns=part.columns)
    full.iloc[wanted] = part.to_numpy()
    return full


def _clean(obj):
    """JSON-ready: infinities and NaN (an unlocated fault's distance) become None."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def summary_lines(report: dict) -> list[str]:
    """Lines for the terminal: faults caught by category, false alarms, localisation shares."""
    from pumpguard.evaluation.report import duration_text

    f = report.get("faults")
    if not f:
        return []
    cats = ", ".join(f"{c} {s['caught']}/{s['total']}" for c, s in f["by_category"].items()) or "none"
    fa = f["false_alarms"]["events_per_day"]
    lines = [f"faults        {f['caught']}/{f['total']} caught ({cats}); median detection delay "
             f"{duration_text(f['median_detection_delay_s'])}; false alarms outside faults "
             f"{'undefined' if fa is None else f'{fa:.3f}'} per day"]
    loc = report.get("localisation") or {}
    if loc.get("skipped"):
        lines.append(f"localisation  not assessed: {loc['skipped']}")
    elif loc.get("over_all_faults"):
        a = loc["over_all_faults"]
        pct = lambda x: "—" if x is None else f"{100 * x:.0f} %"  # noqa: E731
        dist = a["median_distance_m"]
        lines.append(f"localisation  {loc['located']}/{loc['faults']} leaks/bursts located on {loc['network']}; "
                     f"top candidate {pct(a['top1'])}, within 2 hops {pct(a['within_2_hops'])}, within 300 m "
                     f"{pct(a['within_300m'])} (of all); median distance "
                     f"{'—' if dist is None else f'{dist:.0f} m'}")
    return lines
