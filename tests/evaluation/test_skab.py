"""The SKAB protocol: pooled outlier metrics, the threshold rule, file discovery, a hand-made run,
the ``bench skab`` command, and a smoke run over two real SKAB files (skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pumpguard.errors import ConfigError, DataFormatError
from pumpguard.evaluation.skab import OutlierCounts, alarm_threshold, run_skab, skab_files

SKAB = Path("/work/shared/data/skab")
SENSORS = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Temperature",
           "Thermocouple", "Voltage", "Volume Flow RateRMS"]


class FlagEverything:
    """A 'detector' that alarms on every test row: its training scores are 0, later rows 1."""

    def fit(self, X, y=None):
        self.n_ = len(X)
        return self

    def score_samples(self, X):
        return (np.arange(len(X)) >= self.n_).astype(float)

    def get_params(self):
        return {}


def _write_file(path: Path, *, n=1000, train=400, anomaly=(560, 1000), seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-03-09 10:00:00", periods=n, freq="s")
    frame = pd.DataFrame(rng.normal(size=(n, 8)) + 10, columns=SENSORS)
    frame.insert(0, "datetime", idx.strftime("%Y-%m-%d %H:%M:%S"))
    a = np.zeros(n)
    a[anomaly[0]:anomaly[1]] = 1
    cp = np.zeros(n)
    cp[anomaly[0]] = 1
    if anomaly[1] < n:
        cp[anomaly[1]] = 1
    frame["Volume Flow RateRMS"] -= 3 * a
    frame["anomaly"], frame["changepoint"] = a, cp
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=";", index=False)


@pytest.fixture
def root(tmp_path):
    _write_file(tmp_path / "valve1" / "0.csv", seed=1)
    _write_file(tmp_path / "valve1" / "10.csv", anomaly=(700, 850), seed=2)
    _write_file(tmp_path / "valve1" / "2.csv", seed=3)
    (tmp_path / "anomaly-free").mkdir()
    (tmp_path / "anomaly-free" / "anomaly-free.csv").write_text("datetime;Current\n")
    return tmp_path


def test_flagging_every_row_gives_f1_about_070_at_far_100():
    truth = np.r_[np.zeros(460), np.ones(540)]    # SKAB's test parts are ~54 % anomalous
    m = OutlierCounts.of(truth, np.ones(1000)).metrics()
    assert m["f1"] == pytest.approx(540 / (540 + 460 / 2)) and 0.69 < m["f1"] < 0.71
    assert m["far_pct"] == 100.0 and m["mar_pct"] == 0.0
    assert OutlierCounts.of(truth, np.zeros(1000)).metrics() == {"f1": 0.0, "far_pct": 0.0, "mar_pct": 100.0}
    assert OutlierCounts.of(truth, [np.nan] * 1000).fp == 0   # unscorable = no alarm


def test_threshold_rule():
    assert alarm_threshold(np.arange(101.0), false_alarm_rate=0.01, margin=1.0) == 100.0
    assert alarm_threshold(np.arange(101.0), false_alarm_rate=0.01, margin=3.0) == 200.0
    assert alarm_threshold(np.arange(101.0) + 1e6, margin=3.0) == 200.0 + 1e6   # location-free
    with pytest.raises(ConfigError):
        alarm_threshold([np.nan, np.nan])
    with pytest.raises(ConfigError):
        alarm_threshold([1.0, 2.0], margin=-1)


def test_files_are_found_in_number_order_without_anomaly_free(root, tmp_path):
    assert [p.name for p in skab_files(root)] == ["0.csv", "2.csv", "10.csv"]
    with pytest.raises(DataFormatError):
        skab_files(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError):
        skab_files(tmp_path / "empty")


def test_hand_made_run_pools_every_test_row(root):
    r = run_skab(root, FlagEverything, name="everything")
    s = r.summary()
    assert s["n_files"] == 3 and s["n_test_rows"] == 3 * 600
    c = r.counts
    assert (c.tp, c.fp, c.fn, c.tn) == (440 + 150 + 440, 160 + 450 + 160, 0, 0)
    assert s["far_pct"] == 100.0 and s["mar_pct"] == 0.0
    assert s["f1"] == pytest.approx(1030 / (1030 + 770 / 2))
    # one alarm edge per file, at the first test row: a false positive; every changepoint missed
    assert s["n_false_positive_changepoints"] == 3 and s["n_missed_changepoints"] == 4
    assert s["nab_standard"] == pytest.approx(100 * (3 * -0.11 + 4 * -1 - -4) / (4 - -4))
    preds = r.files[0].predictions
    assert list(preds.columns) == ["datetime", "anomaly"] and len(preds) == 600
    assert preds["datetime"].iloc[0] == "2020-03-09 10:06:40"


def test_persistence_in_seconds_delays_the_first_alarm(root):
    raw = run_skab(root, FlagEverything).counts
    held = run_skab(root, FlagEverything, persistence_s=(10, 10)).counts
    assert raw.fp - held.fp == 3 * 9          # the first 9 test rows of each file no longer alarm
    with pytest.raises(ConfigError):
        run_skab(root, FlagEverything, persistence_s=(20, 10))


def test_a_real_detector_finds_the_hand_made_fault(root):
    from pumpguard.detectors.temporal import AdaptiveT2Detector

    s = run_skab(root, lambda: AdaptiveT2Detector(shrinkage=1.0)).summary()
    assert s["f1"] > 0.9 and s["far_pct"] < 10 and s["nab_standard"] > 40


def test_bench_skab_command_writes_results(root, tmp_path):
    from pumpguard.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["bench", "skab", str(root), "--out", str(out), "--detectors", "adaptive_t2"])
    assert result.exit_code == 0, result.output
    assert (out / "results.json").exists() and "adaptive_t2" in (out / "leaderboard.md").read_text()
    first = pd.read_csv(out / "predictions" / "valve1_0.csv", sep=";")
    assert list(first.columns) == ["datetime", "anomaly"] and len(first) == 600
    assert (out / "predictions" / "adaptive_t2" / "valve1_10.csv").exists()
    held = CliRunner().invoke(app, ["bench", "skab", str(root), "--out", str(out), "--detectors", "adaptive_t2",
                                    "--persistence", "5,10"])
    assert held.exit_code == 0, held.output
    bad = CliRunner().invoke(app, ["bench", "skab", str(root), "--out", str(out), "--detectors", "nope"])
    assert bad.exit_code == 2 and "unknown detector" in bad.output
    assert "Example: pumpguard bench skab" in CliRunner().invoke(app, ["bench", "skab", "--help"]).output


@pytest.mark.skipif(not (SKAB / "valve1" / "0.csv").exists(), reason="SKAB data not at /work/shared/data/skab")
def test_smoke_two_real_skab_files(tmp_path):
    from pumpguard.detectors.temporal import AdaptiveT2Detector

    for folder, name in (("valve1", "0.csv"), ("valve2", "0.csv")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).symlink_to(SKAB / folder / name)   # read in place, never copied
    r = run_skab(tmp_path, lambda: AdaptiveT2Detector(shrinkage=1.0))
    s = r.summary()
    assert s["n_files"] == 2 and s["n_changepoints"] == 8 and s["n_unscorable"] == 0
    assert all(v is not None and np.isfinite(v) for k, v in s.items() if k in ("f1", "far_pct", "nab_standard"))
