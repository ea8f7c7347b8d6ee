"""A `serve` worker in its own process, for tests that kill one (SIGKILL cannot stop a thread).

Usage: python -m tests.stream._worker BROKER_URL ROOT SITE CLIENT_ID SHARE_GROUP
Prints "ready" once subscribed and "rows=<n> predictions=<n> duplicates=<n>" when stopped by SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

import numpy as np
import pandas as pd

from pumpguard.stream.codec import Topics
from pumpguard.stream.mqtt import Broker, ScoringService
from pumpguard.stream.scorer import StreamScorer
from tests.stream.conftest import SENSORS, Deviation


def main(url: str, root: str, site: str, client_id: str, share_group: str) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1500, len(SENSORS))), columns=SENSORS)
    detector = Deviation().fit(X.iloc[:1000]).set_threshold(X.iloc[1000:], false_alarm_rate=0.01)
    service = ScoringService(StreamScorer(detector), Broker.from_url(url), topics=Topics(site=site, root=root),
                             client_id=client_id, share_group=share_group or None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def announce() -> None:
        service.subscribed.wait()
        print("ready", flush=True)

    threading.Thread(target=announce, name="announce", daemon=True).start()
    stats = service.run(stop)
    print(f"rows={stats.rows} predictions={stats.predictions} duplicates={stats.duplicates}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
