"""The live run's figures and page: what the services published while the rest of the simulation was
streamed through the broker, scored against the simulation's fault table.

Everything here is computed from the :class:`~pumpguard.demo.recorder.RunRecord` (what crossed the
broker), with the same evaluation the offline assessment uses
(:func:`pumpguard.evaluation.faults.assess_faults`): faults caught, detection delays, lead times
before a pump failure, false alarms per day outside every fault. Two checks of the plumbing ride
along: every row sent was predicted once, and the live scores equal the offline scores of the same
rows (the streaming scorer and the batch scorer are the same model).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from pumpguard.demo.recorder import RunRecord

LOCATED_KINDS = ("leak", "burst")


def predictions_frame(record: RunRecord) -> pd.DataFrame:
    """The streamed predictions by time (a repeat of a time keeps the first), columns score, anomaly, status."""
    rows = [(p.get("ts"), p.get("score"), bool(p.get("anomaly")), p.get("status")) for p in record.predictions]
    frame = pd.DataFrame(rows, columns=["ts", "score", "anomaly", "status"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame = frame.drop_duplicates("ts").set_index("ts").sort_index()
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return frame


def _truth_place(item: dict, wn) -> str:
    # a leak splits its pipe into a new node <pipe>-LEAK that the loaded network lacks: use the pipe
    el, loc = str(item.get("element") or ""), str(item.get("location") or "")
    return el if (el in wn.node_name_list or el in wn.link_name_list) else loc


def _zone(wn, element: str) -> str | None:
    from pumpguard.network.topology import zone_of

    if element in wn.node_name_list:
        return zone_of(wn, element)
    if element in wn.link_name_list:
        return zone_of(wn, wn.get_link(element).start_node_name)
    return None


def localisation_hits(events: pd.DataFrame, record: RunRecord, wn, *, start, end) -> list[dict]:
    """For each leak or burst that starts in ``[start, end]``: the controller's first alarm raised while
    it lasts, the places it suspected, and whether the true place (or its zone) is among them."""
    alarms = sorted(({**a, "raised_ts": pd.Timestamp(a["raised"])} for a in record.alarms.values() if a.get("raised")),
                    key=lambda a: a["raised_ts"])
    out = []
    for item in events.to_dict("records"):
        if item["kind"] not in LOCATED_KINDS or not (start <= item["start"] <= end):
            continue
        fault_end = item["end"] if pd.notna(item["end"]) else end
        first = next((a for a in alarms if item["start"] <= a["raised_ts"] <= fault_end), None)
        truth = _truth_place(item, wn)
        suspected = list(first["suspected"]) if first else []
        zones = {_zone(wn, s) for s in suspected} - {None}
        out.append({"event_id": item["event_id"], "kind": item["kind"], "truth": truth, "truth_zone": _zone(wn, truth),
                    "alarm_id": first["id"] if first else None, "suspected": suspected,
                    "hit": truth in suspected, "zone_hit": _zone(wn, truth) in zones if suspected else False})
    return out


def live_figures(record: RunRecord, *, dataset, events: pd.DataFrame, wn, rows_sent: int,
                 stream_start: pd.Timestamp, offline_scores: pd.Series | None = None, seconds: float = float("nan"),
                 repair_reports: int = 0) -> dict:
    """The live report as a JSON-ready dict (see the module docstring)."""
    from pumpguard.evaluation.faults import assess_faults

    predicted = predictions_frame(record)
    figures: dict = {"rows_sent": int(rows_sent), "predictions": len(record.predictions),
                     "rows_predicted": len(predicted), "seconds": seconds,
                     "rows_per_second": len(predicted) / seconds if seconds and seconds > 0 else None,
                     "errors": len(record.errors)}
    if len(predicted):
        figures["span"] = {"start": predicted.index[0].isoformat(), "end": predicted.index[-1].isoformat()}
        anomaly = predicted["anomaly"].astype(float)
        onsets = int(((anomaly > 0) & (anomaly.shift(fill_value=0.0) == 0)).sum())
        figures["detector_alarm_onsets"] = onsets
        labels = dataset.labels.reindex(predicted.index) if dataset.labels.shape[1] else None
        faults = assess_faults(events, anomaly, labels, start=stream_start)
        figures["faults"] = {k: faults[k] for k in ("total", "caught", "missed", "median_detection_delay_s",
                                                    "median_lead_time_s", "by_category", "false_alarms")}
        figures["fault_items"] = [{k: i[k] for k in ("event_id", "kind", "location", "outcome", "detection_delay_s",
                                                     "lead_time_s")} for i in faults["items"]]
        if offline_scores is not None:
            both = offline_scores.reindex(predicted.index)
            diff = (predicted["score"] - both).abs()
            figures["max_score_difference_to_offline"] = float(np.nanmax(diff.to_numpy())) if diff.notna().any() else None
        figures["localisation"] = localisation_hits(events, record, wn, start=predicted.index[0], end=predicted.index[-1])
    transitions = [{k: t.get(k) for k in ("ts", "from_state", "to_state", "reason", "alarm_id")}
                   | {"actions": ", ".join(f"{a.get('kind')} {a.get('element')}" for a in t.get("actions") or [])}
                   for t in record.transitions]
    figures["controller"] = {
        "transitions": len(transitions),
        "alarms": sum(t["to_state"] == "ALARM" for t in transitions),
        "isolations": sum(t["to_state"] == "ISOLATING" for t in transitions),
        "broken": sum(t["to_state"] == "BROKEN" for t in transitions),
        "plant_commands": len(record.commands),
        "acknowledgements": len(record.acknowledgements),
        "repair_reports": int(repair_reports),
        "history": transitions,
    }
    return figures


def summary_lines(f: dict) -> list[str]:
    from pumpguard.evaluation.report import duration_text

    lines = [f"streamed      {f['rows_sent']:,} rows sent, {f['rows_predicted']:,} predicted"
             + (f" in {f['seconds']:.1f} s ({f['rows_per_second']:,.0f} rows/s, first sent to last predicted)"
                if f.get("rows_per_second") else "")
             + f", {f['errors']} errors"]
    if "faults" in f:
        fa = f["faults"]
        per_day = fa["false_alarms"]["events_per_day"]
        lines.append(f"live faults   {fa['caught']}/{fa['total']} caught, median delay "
                     f"{duration_text(fa['median_detection_delay_s'])}, median lead time {duration_text(fa['median_lead_time_s'])}; "
                     f"false alarms {'—' if per_day is None else f'{per_day:.2f}'} per day")
        located = f.get("localisation") or []
        lines.append(f"localisation  {sum(i['hit'] for i in located)}/{len(located)} leaks/bursts at the true place, "
                     f"{sum(i['zone_hit'] for i in located)}/{len(located)} in the true zone")
        if f.get("max_score_difference_to_offline") is not None:
            lines.append(f"agreement     live scores differ from offline by at most {f['max_score_difference_to_offline']:.2g}")
    c = f["controller"]
    lines.append(f"controller    {c['transitions']} transitions live: {c['alarms']} alarms, {c['isolations']} isolations, "
                 f"{c['broken']} BROKEN, {c['plant_commands']} plant commands, {c['acknowledgements']} acknowledgements, "
                 f"{c['repair_reports']} repair reports")
    return lines


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p>none</p>"
    return pd.DataFrame(rows).to_html(index=False, border=0, classes="t", escape=True, na_rep="")


def live_html(f: dict, *, broker: str) -> str:
    """The live part of the run report (an HTML fragment)."""
    lines = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in summary_lines(f))
    return (f"<h2>Live run through the broker</h2><p>{html.escape(broker)}: the rows after the training and "
            "validation slices, sent as telemetry, scored by the scoring service, stepped by the controller "
            "service. The controller's commands are published, not fed back into the simulation (the data "
            "were simulated beforehand in closed loop with the simulator's own controller).</p>"
            f"<ul>{lines}</ul><h3>Faults in the streamed time</h3>{_table(f.get('fault_items', []))}"
            f"<h3>Localisation of leaks and bursts by the live controller</h3>{_table(f.get('localisation', []))}"
            f"<h3>Live controller transitions</h3>{_table(f['controller']['history'])}")
