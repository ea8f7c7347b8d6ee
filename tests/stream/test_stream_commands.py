"""The commands: `pumpguard serve | replay | listen` with a real model file and a real Mosquitto."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pumpguard.cli import stream_commands

REPO = Path(__file__).resolve().parents[2]
# the real `pumpguard` entry point, as installed
PUMPGUARD = "from pumpguard.cli import main; main()"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    stream_commands.register(app)
    return app


@pytest.mark.parametrize("command", ["serve", "replay", "listen"])
def test_help_has_an_example(app, command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and f"Example: pumpguard {command}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "nothere.csv", "--broker", "mqtt://127.0.0.1:1"], "no such file"),
        (["replay", "x.csv", "--broker", "http://host"], "is not mqtt:// or mqtts://"),
        (["replay", "x.csv", "--broker", "mqtt://h", "--asset", "a/b"], "--asset 'a/b'"),
        (["serve", "--broker", "mqtt://h", "--model", "nothere.skops"], "nothere.skops"),
        (["listen", "--broker", "mqtt://h:port"], "port is not a number"),
        (["serve", "--broker", "mqtt://h", "--model", "m.skops", "--nodes", "x.csv"], "not JSON"),
        (["serve", "--broker", "mqtt://h", "--model", "m.skops", "--nodes", "nodes.json"], "expected an object"),
    ],
)
def test_bad_input_is_one_clear_line(app, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("timestamp,sensor_00\n2024-01-01T00:00:00Z,1.0\n")
    (tmp_path / "nodes.json").write_text("[]")
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.mqtt
@pytest.mark.slow
def test_serve_replay_listen_with_a_trained_model_file(mosquitto, app, tmp_path):
    from pumpguard.data.synthetic import make_sample
    from pumpguard.data.writers import write_csv
    from pumpguard.detectors.model_file import save_model
    from pumpguard.detectors.training import train

    dataset = make_sample(2, seed=0, failures=0)
    model = save_model(train(dataset, "pca"), tmp_path / "model.skops")
    data = tmp_path / "pump.csv"
    write_csv(dataset, data)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    run = [sys.executable, "-c", PUMPGUARD]
    archive = tmp_path / "archive"
    serve = subprocess.Popen(run + ["serve", "--broker", mosquitto.url, "--model", str(model), "--client-id", "cli-serve",
                                    "--archive", str(archive)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    listen = subprocess.Popen(run + ["listen", "--broker", mosquitto.url, "--count", "120"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in serve.stderr:  # wait until the service has subscribed
            if "subscribed to" in line:
                break
        presence = listen.stdout.readline()  # the listener is up once it shows the service's retained birth
        assert presence.startswith("service") and '"online"' in presence, presence
        result = CliRunner().invoke(app, ["replay", str(data), "--broker", mosquitto.url, "--site", "plant1",
                                          "--asset", "pump_a", "--limit", "120", "--batch", "10"])
        assert result.exit_code == 0, result.output
        assert "sent 120 rows in 12 messages" in result.output
        out, _ = listen.communicate(timeout=60)
        lines = [ln for ln in out.splitlines() if ln.startswith("prediction")]
        assert len(lines) == 120
        assert all(" pump_a " in ln and " score " in ln for ln in lines)
    finally:
        serve.terminate()
        _, err = serve.communicate(timeout=30)
        listen.kill()
    assert "stopped: 120 rows, 120 predictions, 0 rejected" in err
    # --archive: every scored row and its prediction reached the Parquet archive (the archive's own
    # layout and read-back are tested in test_archive.py)
    import pyarrow.parquet as pq

    def archived(kind: str) -> int:
        return sum(pq.read_metadata(part).num_rows for part in (archive / kind).rglob("part-*.parquet"))

    assert archived("telemetry") == 120 and archived("predictions") == 120
