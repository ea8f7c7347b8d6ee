"""Properties of the event metrics on random minute-data cases (hypothesis)."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpguard.evaluation import assess
from pumpguard.evaluation.events import alarm_onsets, failure_events, false_alarms, match_events


@st.composite
def cases(draw):
    n = draw(st.integers(60, 400))
    status = np.array(["NORMAL"] * n, dtype=object)
    for start in draw(st.lists(st.integers(1, n - 1), max_size=4)):
        length = draw(st.integers(1, 3))
        status[start:start + length] = "BROKEN"
        status[start + length:start + length + draw(st.integers(0, 20))] = "RECOVERING"
    alarms = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n, max_size=n)))
    horizon = draw(st.integers(0, 120))
    idx = pd.date_range("2018-04-01", periods=n, freq="min", tz="UTC")
    return pd.Series(status, index=idx), pd.Series(alarms, index=idx), pd.Timedelta(minutes=horizon)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_event_outcomes_are_consistent(case):
    status, alarms, horizon = case
    events = failure_events(status)
    outcomes = match_events(events, alarms, horizon)
    for o in outcomes:
        assert o.outcome in ("caught", "late", "missed")
        if o.caught:
            assert pd.Timedelta(0) < o.lead_time <= horizon
            assert status[o.first_warning] == "NORMAL" and alarms[o.first_warning] == 1.0
        else:
            assert o.lead_time is None
    fa = false_alarms(alarms, pd.DataFrame({"machine_status": status}), events, horizon)
    assert 0 <= fa.alarm_events <= fa.alarm_rows <= fa.normal_rows
    assert fa.alarm_events <= int(alarm_onsets(alarms).sum())
    assert fa.normal_rows <= int((status == "NORMAL").sum())


@settings(max_examples=15, deadline=None)
@given(cases())
def test_assess_never_crashes_and_counts_add_up(case):
    status, alarms, horizon = case
    scores = alarms.fillna(0.0) + np.linspace(0, 0.1, len(alarms))
    r = assess(scores, alarms, pd.DataFrame({"machine_status": status}), threshold=0.5, horizon=horizon)
    ev = r["events"]
    assert ev["caught"] + ev["late"] + ev["missed"] == ev["total"]
    for truth in r["ranking"].values():
        assert (truth["roc_auc"] is None) == (truth["undefined"] is not None)
