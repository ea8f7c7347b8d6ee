"""``POST /predict`` bodies -> prediction payloads, with the stream's own codec and scorer.

A JSON body is a telemetry message exactly as on MQTT (one row ``{"ts", "values"}`` or a batch
``{"rows": [...]}``), decoded by :class:`pumpguard.stream.codec.TelemetryCodec`; a CSV body is read
by :func:`pumpguard.data.read_dataset` (any format pumpguard reads). Both are scored by
:class:`pumpguard.stream.scorer.StreamScorer`, so the answer has the prediction topic's fields.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

from pumpguard.errors import DataFormatError

_ASSET = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: Rejected rows listed in an answer (the rest are counted).
MAX_LISTED_REJECTIONS = 20


def check_asset(asset: str) -> str:
    if not _ASSET.match(asset or ""):
        raise DataFormatError(f"asset {asset!r} is not a valid asset name",
                              expected="1-64 letters, digits, '_', '.' or '-'", hint="e.g. ?asset=pump_a")
    return asset


def iso_z(ts) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def rows_from_json(body: bytes, sensors: list[str], asset: str, max_bytes: int):
    """``(rows, rejected)``: TelemetryRows and ``[{"row", "reason"}]``."""
    from pumpguard.stream.codec import TelemetryCodec, Topics

    topics = Topics(site="api")
    codec = TelemetryCodec(sensors=sensors, topics=topics, max_payload_bytes=max_bytes)
    decoded = codec.decode_telemetry(topics.telemetry(asset), body)
    rejected = [{"reason": r.reason} for r in decoded.rejected]
    return decoded.rows, rejected


def rows_from_csv(body: bytes, sensors: list[str], asset: str):
    """TelemetryRows of a CSV body (model sensors missing from the file are no reading)."""
    from pumpguard.data import read_dataset
    from pumpguard.stream.codec import TelemetryRow

    with tempfile.TemporaryDirectory(prefix="pumpguard-api-") as tmp:
        path = Path(tmp) / "body.csv"
        path.write_bytes(body)
        try:
            dataset = read_dataset(path)
        except DataFormatError as exc:
            raise DataFormatError(f"CSV body: {exc}".replace(str(path), "body"),
                                  hint="send a CSV with a header row: timestamp, then one column per sensor") from None
    frame = dataset.frame
    known = [s for s in sensors if s in frame.columns]
    if not known:
        raise DataFormatError("CSV body has none of the model's sensors",
                              found=", ".join(map(str, dataset.sensor_ids[:6])) or "no sensor columns",
                              expected=", ".join(sensors[:6]) + (" ..." if len(sensors) > 6 else ""),
                              hint="name the columns as in GET /models/{id} (its sensors)")
    values = frame[known].to_numpy(dtype="float64")
    times = frame.index.to_pydatetime()
    rows = []
    for t, line in zip(times, values.tolist()):
        rows.append(TelemetryRow(site="api", asset=asset, ts=t,
                                 values={k: v for k, v in zip(known, line) if not math.isnan(v)}))
    return rows, []


def predict_rows(trained, model_id: str, rows) -> tuple[list[dict], list[dict]]:
    """``(predictions, rejected)``: one prediction per row; a repeated ``ts`` is rejected, not rescored."""
    from pumpguard.stream.scorer import StreamScorer

    scorer = StreamScorer(trained, model_name=model_id)
    out, rejected = [], []
    for row, p in zip(rows, scorer.score(rows) if rows else []):
        if p is None:
            rejected.append({"reason": f"ts {iso_z(row.ts)} repeats an earlier row of this request: each row is scored once"})
            continue
        p = dict(p)
        p["ts"] = iso_z(p["ts"])
        out.append(p)
    return out, rejected
