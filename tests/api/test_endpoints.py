"""The endpoints as a script or SCADA gateway would call them."""

from __future__ import annotations

import os

import pytest

ROW = {"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 2.46, "sensor_01": 47.1}}


def test_health_and_openapi(client):
    assert client.get("/health").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    for path in ("/health", "/metrics", "/predict", "/train", "/assess", "/models", "/models/{model_id}",
                 "/state", "/alarms", "/alarms/{alarm_id}/ack"):
        assert path in spec["paths"], path


def test_predict_json_has_the_prediction_topic_fields(client, auth):
    r = client.post("/predict", json={"rows": [ROW, {**ROW, "ts": "2018-04-01T00:01:00Z"}]}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "pca" and len(body["predictions"]) == 2
    p = body["predictions"][0]
    assert set(p) == {"asset", "ts", "score", "threshold", "anomaly", "status", "top_sensors", "model"}
    assert p["ts"] == "2018-04-01T00:00:00Z" and isinstance(p["anomaly"], bool)
    assert all(set(t) == {"sensor", "share"} for t in p["top_sensors"])


def test_predict_csv_scores_every_row(client, auth, api_dirs):
    data, _ = api_dirs
    lines = (data / "pump.csv").read_text().splitlines()[:11]
    r = client.post("/predict?asset=pump_a", content="\n".join(lines) + "\n",
                    headers={**auth, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert len(preds) == 10 and {p["asset"] for p in preds} == {"pump_a"}
    assert all(p["score"] is not None for p in preds)


def test_predict_bad_input_says_what_to_fix(client, auth):
    r = client.post("/predict", content=b"{not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 422 and "not JSON" in r.json()["detail"]
    r = client.post("/predict", json={"ts": "2018-04-01 00:00", "values": {}}, headers=auth)
    assert r.status_code == 422 and "UTC offset" in r.json()["detail"]
    r = client.post("/predict", json={"ts": "2018-04-01T00:00:00Z", "values": {"sensor_99": 1}}, headers=auth)
    assert r.status_code == 422 and "unknown sensor 'sensor_99'" in r.json()["detail"]
    r = client.post("/predict?model=nope", json=ROW, headers=auth)
    assert r.status_code == 404 and "known: pca" in r.json()["detail"]
    r = client.post("/predict", content=b"a;b\n1;2\n", headers={**auth, "Content-Type": "text/csv"})
    assert 400 <= r.status_code < 500, r.text
    r = client.post("/predict", content=b"x", headers={**auth, "Content-Type": "image/png"})
    assert r.status_code == 422 and "Content-Type" in r.json()["detail"]
    r = client.post("/predict?asset=a/b", json=ROW, headers=auth)
    assert r.status_code == 422 and "asset" in r.json()["detail"]


def test_repeated_row_is_rejected_not_rescored(client, auth):
    r = client.post("/predict", json={"rows": [ROW, ROW]}, headers=auth)
    body = r.json()
    assert len(body["predictions"]) == 1 and body["n_rejected"] == 1 and "repeats" in body["rejected"][0]["reason"]


@pytest.mark.slow
def test_train_by_path_then_assess_and_list(client, auth):
    r = client.post("/train", data={"detector": "pca", "path": "pump.csv", "name": "pca-api"}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "pca-api" and body["assessment"]["headline"]["events_total"] >= 0
    assert "rows" in body["assessment"]["slice"]
    ids = [m["id"] for m in client.get("/models").json()]
    assert "pca-api" in ids and "pca" in ids
    card = client.get("/models/pca-api").json()
    assert card["detector"] == "pca" and card["last_assessment"]["slice"]["rows"] > 0
    r = client.post("/assess", data={"model": "pca-api", "path": "pump.csv", "horizon": "6h"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["horizon_s"] == 6 * 3600
    r = client.post("/train", data={"detector": "pca", "path": "pump.csv", "name": "pca-api"}, headers=auth)
    assert r.status_code == 400 and "already exists" in r.json()["detail"]


@pytest.mark.slow
def test_train_on_an_upload(settings, auth, api_dirs):
    import dataclasses

    from fastapi.testclient import TestClient

    from pumpguard.api.app import create_app

    data, _ = api_dirs
    roomy = dataclasses.replace(settings, max_request_bytes=16 << 20)
    with TestClient(create_app(roomy)) as client, (data / "pump.csv").open("rb") as fh:
        r = client.post("/train", data={"detector": "iforest", "params": '{"n_estimators": 20}'},
                        files={"file": ("pump.csv", fh, "text/csv")}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["detector"] == "iforest"


def test_train_bad_requests(client, auth):
    cases = [
        ({"detector": "nope", "path": "pump.csv"}, 400, "not known"),
        ({"detector": "pca"}, 400, "exactly one of"),
        ({"detector": "pca", "path": "pump.csv", "params": "[1]"}, 400, "JSON object"),
        ({"detector": "pca", "path": "pump.csv", "params": "{bad"}, 400, "not JSON"),
        ({"detector": "pca", "path": "missing.csv"}, 404, "missing.csv"),
        ({"detector": "pca", "path": "pump.csv", "train_fraction": "0.9"}, 400, "less than 1"),
        ({"detector": "pca", "path": "pump.csv", "name": "../evil"}, 400, "model id"),
    ]
    for form, status, words in cases:
        r = client.post("/train", data=form, headers=auth)
        assert r.status_code == status and words in r.json()["detail"], (form, r.status_code, r.text)
    r = client.post("/train", data={"detector": "pca"}, files={"file": ("x.exe", b"MZ", "application/octet-stream")},
                    headers=auth)
    assert r.status_code == 422 and "ending in" in r.json()["detail"]
    r = client.post("/assess", data={"model": "nope", "path": "pump.csv"}, headers=auth)
    assert r.status_code == 404


def test_models_and_unknown_model(client):
    assert client.get("/models").json()[0]["id"] == "pca"
    assert client.get("/models/pca").json()["n_sensors"] == 51
    assert client.get("/models/nope").status_code == 404
    assert client.get("/models/..%2F..%2Fetc").status_code in (400, 404)


def test_state_alarms_and_ack(client, auth):
    hub = client.app.state.hub
    assert client.get("/state").json()["controller"] is None
    hub.publish("prediction", {"ts": "2018-04-01T00:00:00Z", "score": 9.0, "threshold": 2.0, "anomaly": True,
                               "status": "ANOMALY", "top_sensors": [{"sensor": "sensor_04", "share": 0.6}]},
                asset="pump_a")
    hub.publish("controller/state", {"state": "ALARM", "suspected": ["J-N2"],
                                     "alarms": [{"id": "A-7", "raised": "2018-04-01T00:03:00Z",
                                                 "reason": "anomaly confirmed", "suspected": ["J-N2"]}]})
    assert client.get("/state").json()["controller"]["state"] == "ALARM"
    alarms = client.get("/alarms?open=true").json()
    assert [a["id"] for a in alarms] == ["D-1", "C-A-7"]
    assert alarms[1]["top_sensors"] == [{"sensor": "sensor_04", "share": 0.6}]
    told = []
    hub.acknowledge_handlers.append(lambda alarm, by: told.append((alarm["id"], by)))
    r = client.post("/alarms/C-A-7/ack?by=anna", headers=auth)
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "anna" and told == [("C-A-7", "anna")]
    assert client.post("/alarms/nope/ack", headers=auth).status_code == 404
    # a later controller state without the acknowledgement keeps it
    hub.publish("controller/state", {"state": "ISOLATING", "alarms": [{"id": "A-7", "raised": "2018-04-01T00:03:00Z",
                                                                      "reason": "anomaly confirmed"}]})
    assert next(a for a in client.get("/alarms").json() if a["id"] == "C-A-7")["acknowledged_by"] == "anna"


def test_metrics_text(client, auth):
    client.post("/predict", json=ROW, headers=auth)
    client.post("/predict", json=ROW)  # refused: counted as an error
    text = client.get("/metrics").text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'pumpguard_rows_scored_total{source="api"} 1' in text
    assert 'pumpguard_errors_total{kind="http_4xx"} 1' in text
    assert 'pumpguard_request_seconds_count{path="/predict"} 2' in text
    assert "pumpguard_alarms_open 0" in text
    assert "pumpguard_broker_connected " not in text.replace("# HELP pumpguard_broker_connected", "").replace(
        "# TYPE pumpguard_broker_connected", "")


def test_dashboard_is_served_offline(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/dashboard.js" in page.text
    for asset in ("/static/dashboard.js", "/static/dashboard.css"):
        assert client.get(asset).status_code == 200
    text = page.text + client.get("/static/dashboard.js").text + client.get("/static/dashboard.css").text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    net = client.get("/network").json()
    assert {"nodes", "links", "zones", "sensors"} <= set(net)


def test_settings_from_env(tmp_path, monkeypatch):
    from pumpguard.api.settings import Settings
    from pumpguard.errors import ConfigError

    monkeypatch.delenv("PUMPGUARD_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="PUMPGUARD_TEST_TOKEN is not set"):
        Settings.from_env(token_env="PUMPGUARD_TEST_TOKEN")
    monkeypatch.setenv("PUMPGUARD_TEST_TOKEN", "t" * 20)
    (tmp_path / "d").mkdir()
    s = Settings.from_env(token_env="PUMPGUARD_TEST_TOKEN", data_dir=str(tmp_path / "d"), models_dir=str(tmp_path / "m"))
    assert s.data_dir == (tmp_path / "d").resolve() and (tmp_path / "m").is_dir()
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.from_env(token_env="PUMPGUARD_TEST_TOKEN", data_dir=str(tmp_path / "nope"))
    assert os.environ["PUMPGUARD_TEST_TOKEN"]
