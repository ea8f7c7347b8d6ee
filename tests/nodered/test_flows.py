"""The three flows on a real Node-RED 4, a real Mosquitto and pumpguard's own serve and api processes.

One system for the module (starting it costs ~10 s of the shared machine); the tests run in file
order and the last restarts Node-RED and runs every flow again.
"""

from __future__ import annotations

import csv
import json
import subprocess

import importlib.util
from pathlib import Path

import pytest

# the helpers of this folder's conftest (pytest imports test files by path: no package to import from)
_spec = importlib.util.spec_from_file_location("_nodered_conftest", Path(__file__).with_name("conftest.py"))
_here = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_here)
PUMPGUARD, SITE, http, wait_for = _here.PUMPGUARD, _here.SITE, _here.http, _here.wait_for

pytestmark = [pytest.mark.nodered, pytest.mark.mqtt, pytest.mark.slow]


def csv_times(path) -> list[str]:
    with open(path, newline="") as f:
        return [row["timestamp"].replace(" ", "T") + "Z" for row in csv.DictReader(f)]


def no_errors(mqtt) -> None:
    errors = {t: m for t, m in mqtt.messages.items() if t.endswith("/errors")}
    assert not errors, errors


def run_flow_a(system, asset: str) -> None:
    nodered, mqtt = system["nodered"], system["mqtt"]
    expected = csv_times(system["client_csv"])
    topic = f"pumpguard/v1/{SITE}/{asset}/prediction"
    nodered.inject("pga-start")
    wait_for(lambda: len(mqtt.rows(topic)) >= len(expected), 40, f"{len(expected)} predictions on {topic}",
             explain=system["explain"])
    rows = mqtt.rows(topic)
    assert len(rows) == len(expected) == 250
    assert sorted(r["ts"].replace("+00:00", "Z") for r in rows) == sorted(expected)
    assert all(r["model"] and r["status"] in {"NORMAL", "ANOMALY", "UNSCORABLE"} for r in rows)
    assert sum(r["score"] is not None for r in rows) == 250
    telemetry = mqtt.rows(f"pumpguard/v1/{SITE}/{asset}/telemetry")
    assert len(telemetry) == 250 and len(mqtt.get(f"pumpguard/v1/{SITE}/{asset}/telemetry")) == 3  # 100 + 100 + 50
    # the label and the unnamed index are not telemetry; an empty cell (all of sensor_15) is no reading
    assert "machine_status" not in telemetry[0]["values"] and "sensor_15" not in telemetry[0]["values"]
    assert len(telemetry[0]["values"]) >= 50
    no_errors(mqtt)


def test_flow_a_every_row_comes_back_as_a_prediction(system):
    run_flow_a(system, "pump_a")


def run_flow_b(system) -> str:
    nodered, mqtt = system["nodered"], system["mqtt"]
    results = f"pumpguard/v1/{SITE}/nodered"
    before = len(mqtt.get(f"{results}/train"))
    nodered.inject("pgb-train-start")
    trained = wait_for(lambda: mqtt.get(f"{results}/train")[before:] or mqtt.get(f"{results}/errors"), 90,
                       "the training answer",
                       explain=system["explain"])
    no_errors(mqtt)
    answer = trained[0]
    model = answer["model"]
    assert model.startswith("decision_tree-") and (system["models"] / f"{model}.skops").is_file()
    assert answer["assessment"]["model"] == model  # labelled data: assessed on the untouched rest
    status, body = http("GET", f"{system['api_url']}/models/{model}")
    assert status == 200 and json.loads(body)["detector"] == "decision_tree"

    before = len(mqtt.get(f"{results}/assessment"))
    nodered.inject("pgb-assess-start")
    report = wait_for(lambda: mqtt.get(f"{results}/assessment")[before:] or mqtt.get(f"{results}/errors"), 90,
                      "the assessment", explain=system["explain"])[0]
    no_errors(mqtt)
    n_test = len(csv_times(system["test_csv"]))
    assert report["model"] == model and report["predictions"]["model"] == model  # the predictor used it
    assert report["predictions"]["rows"] == n_test and report["predictions"]["n_rejected"] == 0
    assert sum(report["predictions"]["statuses"].values()) == n_test
    assert report["test_slice"]["rows"] == n_test  # every row of the separate test file
    assert 0 < report["train_slice"]["rows"] < len(csv_times(system["train_csv"]))  # only after its slices
    assert report["train"] and report["test"]

    # classification: telemetry on <asset>/classify -> POST /predict -> predictions on <asset>/prediction
    row = {"ts": "2026-01-01T00:00:00Z", "values": {f"sensor_{i:02d}": 40.0 + i for i in range(52) if i != 15}}
    topic = f"pumpguard/v1/{SITE}/pump_c/prediction"
    before = len(mqtt.rows(topic))
    mqtt.publish(f"pumpguard/v1/{SITE}/pump_c/classify", {"rows": [row, {**row, "ts": "2026-01-01T00:01:00Z"}]})
    rows = wait_for(lambda: mqtt.rows(topic)[before:] if len(mqtt.rows(topic)) >= before + 2 else None, 30,
                    "the classification's predictions", explain=system["explain"])
    assert len(rows) == 2 and [r["ts"] for r in rows] == ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]
    assert all(r["asset"] == "pump_c" and r["status"] in {"NORMAL", "BROKEN", "RECOVERING"} for r in rows)
    no_errors(mqtt)
    return model


def test_flow_b_trains_a_model_its_predictor_uses_and_assesses(system):
    run_flow_b(system)


def record_rows(path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_flow_c(system, presses: int) -> None:
    nodered, path = system["nodered"], system["record_csv"]
    before = {r["timestamp"] for r in record_rows(path)}
    for _ in range(presses):
        nodered.inject("pgc-tick")
    wait_for(lambda: len({r["timestamp"] for r in record_rows(path)} - before) >= presses, 20,
             f"{presses} new records in {path}", explain=system["explain"])
    snapshot = system["root"] / "records-snapshot.csv"  # the flow rewrites the file every 10 s
    snapshot.write_bytes(path.read_bytes())
    rows = record_rows(snapshot)
    assert list(rows[0]) == ["timestamp", *[f"sensor_{i:02d}" for i in range(52)], "machine_status"]
    out = system["root"] / "records-predictions.csv"
    done = subprocess.run([str(PUMPGUARD), "predict", str(snapshot), "--model", str(system["pca"]), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    predicted = record_rows(out)
    assert len(predicted) == len(rows) and len({r["timestamp"] for r in rows}) == len(rows)
    assert all(p["score"] not in ("", None) for p in predicted)


def test_flow_c_writes_records_pumpguard_predicts(system):
    run_flow_c(system, presses=3)


def test_the_flows_keep_working_after_a_restart(system):
    nodered = system["nodered"]
    connected = nodered.log_text().count("Connected to broker")
    nodered.restart(PUMPGUARD_ASSET="pump_b")
    wait_for(lambda: nodered.log_text().count("Connected to broker") >= connected + 2, 20, "the brokers to reconnect")
    run_flow_a(system, "pump_b")
    run_flow_b(system)
    run_flow_c(system, presses=2)


def test_the_admin_api_is_protected(system):
    nodered = system["nodered"]
    assert http("GET", f"{nodered.url}/flows")[0] == 401
    assert http("POST", f"{nodered.url}/inject/pga-start", b"")[0] == 401
    assert http("GET", f"{nodered.url}/flows", headers={"Authorization": "Bearer not-a-token"})[0] == 401
    assert http("GET", f"{nodered.url}/flows", headers={"Authorization": f"Bearer {nodered.token()}"})[0] == 200
    assert http("GET", f"{nodered.url}/diagnostics", headers={"Authorization": f"Bearer {nodered.token()}"})[0] in (403, 404)


def test_a_refused_classification_arrives_on_the_errors_topic(system):
    # last in the file: the flows' error path (the other tests require no errors at all)
    mqtt = system["mqtt"]
    mqtt.publish(f"pumpguard/v1/{SITE}/pump_c/classify", {"ts": "2026-01-01T00:02:00", "values": {"sensor_99": 1.0}})
    errors = wait_for(lambda: mqtt.get(f"pumpguard/v1/{SITE}/nodered/errors"), 30, "the classification's error",
                      explain=system["explain"])
    assert errors[0]["step"] == "classify" and errors[0]["status"] == 422
    assert "sensor_99" in errors[0]["detail"] or "offset" in errors[0]["detail"]
