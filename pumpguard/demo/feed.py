"""The demo's sensors: publish the simulation's rows as telemetry, paced on the data clock.

Like :func:`pumpguard.stream.clients.replay` (QoS 1, at most ``max_outstanding`` messages the broker
has not acknowledged), but it runs in a named thread and stops when asked, since a demo's
telemetry is cut short by ``--duration`` or Ctrl-C.
"""

from __future__ import annotations

import logging
import threading
import time

import pandas as pd

from pumpguard.errors import ConfigError
from pumpguard.stream.clients import telemetry_batches
from pumpguard.stream.codec import Topics
from pumpguard.stream.connection import Broker, connect_properties, make_client

log = logging.getLogger("pumpguard.demo")

#: QoS 1 messages in flight at most: the broker's acknowledgements set the pace beyond that.
MAX_OUTSTANDING = 500


class TelemetryFeed:
    """Publishes ``frame`` as ``asset``'s telemetry at ``speed`` times real time (None: as fast as the
    broker acknowledges) from a thread named ``pumpguard-demo-feed``.

    ``reports``: ``(ts, payload)`` operator commands (the field crew's repair reports) published on
    ``topics.controller_operator`` once the rows up to ``ts`` are sent and ``processed(ts)`` says the
    controller has seen them (a report must not overtake the data it follows).

    ``rows_sent`` counts rows published; ``done`` is set when every row was acknowledged (or on stop).
    Needs a broker, so it has no doctest; tested in ``tests/cli/test_demo.py``.
    """

    def __init__(self, frame: pd.DataFrame, broker: Broker, *, topics: Topics, asset: str,
                 speed: float | None = None, client_id: str = "pumpguard-demo-feed",
                 reports: list[tuple[pd.Timestamp, bytes]] = (), processed=None) -> None:
        if speed is not None and not speed > 0:
            raise ConfigError(f"--speed {speed!r}: expected a positive multiple of real time (e.g. 600)")
        self.frame, self.broker, self.topics, self.asset, self.speed = frame, broker, topics, asset, speed
        self.client_id = client_id
        self.reports = sorted(reports, key=lambda r: r[0])
        self.processed = processed or (lambda ts: True)
        self.reports_sent = 0
        self.rows_sent = 0
        self.acked = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pumpguard-demo-feed", daemon=True)

    def start(self) -> "TelemetryFeed":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.acked += 1

    def _report(self, client, payload: bytes, after) -> bool:
        """Publish one report once the controller has stepped past ``after``; False when stopped."""
        deadline = time.monotonic() + 30
        while not self.processed(pd.Timestamp(after)) and time.monotonic() < deadline:
            if self._stop.wait(0.01):
                return False
        client.publish(self.topics.controller_operator, payload, qos=1)
        self.reports_sent += 1
        return True

    def _run(self) -> None:
        client = make_client(self.client_id, self.broker)
        connected = threading.Event()
        client.on_publish = self._on_publish
        client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
        client.connect_async(self.broker.host, self.broker.port, keepalive=30, clean_start=True,
                             properties=connect_properties(session_expiry_s=0))
        client.loop_start()
        topic = self.topics.telemetry(self.asset)
        try:
            if not connected.wait(30):
                log.error("the demo's telemetry feed cannot reach the broker at %s:%s", self.broker.host, self.broker.port)
                return
            t_wall = time.monotonic()
            t_data0 = self.frame.index[0].to_pydatetime() if len(self.frame) else None
            sent = 0
            pending = list(self.reports)
            last_ts = None
            for first_ts, payload in telemetry_batches(self.frame, 1):
                while pending and last_ts is not None and pending[0][0] <= first_ts:
                    if not self._report(client, pending.pop(0)[1], last_ts):
                        return
                if self.speed is not None:
                    pause = t_wall + (first_ts - t_data0).total_seconds() / self.speed - time.monotonic()
                    if pause > 0 and self._stop.wait(pause):
                        return
                while sent - self.acked >= MAX_OUTSTANDING:
                    if self._stop.wait(0.002):
                        return
                if self._stop.is_set():
                    return
                client.publish(topic, payload, qos=1)
                sent += 1
                self.rows_sent = sent
                last_ts = first_ts
            while self.acked < sent and not self._stop.wait(0.01):
                pass
        finally:
            self.done.set()
            client.disconnect()
            client.loop_stop()
