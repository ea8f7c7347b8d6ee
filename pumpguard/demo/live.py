"""The live demo: broker -> scoring service -> controller service -> API and dashboard, in one process.

:class:`LiveDemo` starts, in this order, each in its own named thread: the embedded broker
(``pumpguard-embedded-broker-<port>``; or a real one given by URL), the recorder
(``pumpguard-demo-recorder``), the controller service (``pumpguard-demo-controller``), the scoring
service (``pumpguard-demo-scorer``), the API with the dashboard (``pumpguard-api-server``; its
LiveHub subscribes to the broker from paho's network thread) and last the telemetry feed
(``pumpguard-demo-feed``). Each waits until the one before is subscribed, so nothing published is
missed on a broker that keeps nothing for absent subscribers. :meth:`LiveDemo.stop` stops them in
the reverse order.

On the embedded broker the services acknowledge on receipt (``ack_on_receipt=True``): rumqttd holds
back PUBACKs to a client with 100 deliveries unacknowledged, which stalls a service that
acknowledges only after its own outputs were acknowledged (``docs/broker.md``). With ``broker_url``
(a real broker) they keep the end-to-end at-least-once acknowledgement.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import uuid
from pathlib import Path

import pandas as pd

from pumpguard.demo.feed import TelemetryFeed
from pumpguard.demo.recorder import Recorder
from pumpguard.errors import ConfigError
from pumpguard.stream.codec import Topics
from pumpguard.stream.connection import Broker

log = logging.getLogger("pumpguard.demo")

#: Sensors named in each prediction: enough that some remain for the localiser once the pump station's
#: own sensors are left out (the station has 11 of the default layout's 50).
TOP_SENSORS = 15

DEMO_SITE = "demo"
DEMO_ASSET = "pump_station"


def station_sensors(sensors, wn) -> set[str]:
    """Sensors on a pump or at its suction or discharge node. Their readings follow the pump's operating
    point, so any leak anywhere moves them: they say how much water is lost, not where. Left out of the
    live controller's localisation, as the offline assessment leaves them out (``pumpguard assess``)."""
    ends = {n for name in wn.pump_name_list
            for n in (name, wn.get_link(name).start_node_name, wn.get_link(name).end_node_name)}
    return {s.id for s in sensors if s.element in ends}


def repair_reports(events: pd.DataFrame | None) -> list[tuple[pd.Timestamp, bytes]]:
    """The field crew's reports: a ``repaired`` operator command when each fault of the simulation's
    fault table ends (the simulated plant was repaired then). Without them the live controller, once
    BROKEN, would wait for a repair report forever. No ``ts``: the controller applies it on its own clock.

    Examples
    --------
    >>> ev = pd.DataFrame({"event_id": ["F-01", "F-02"], "kind": ["leak", "burst"], "location": ["P-S2", "J-S3"],
    ...                    "end": [pd.Timestamp("2018-04-02", tz="UTC"), pd.NaT]})
    >>> [(str(ts.date()), body) for ts, body in repair_reports(ev)]
    [('2018-04-02', b'{"command":"repaired","by":"field crew","note":"F-01 leak at P-S2 repaired","id":"repair-F-01"}')]
    """
    import orjson

    if events is None:
        return []
    return [(pd.Timestamp(e["end"]), orjson.dumps({"command": "repaired", "by": "field crew",
                                                   "note": f"{e['event_id']} {e['kind']} at {e['location']} repaired",
                                                   "id": f"repair-{e['event_id']}"}))
            for e in events.to_dict("records") if pd.notna(e["end"])]


class LiveDemo:
    """The running system for one trained model and one stretch of telemetry.

    ``frame``: the telemetry to stream (the model's sensor columns, UTC index); ``sensors``: the
    sensors' places (for the controller's localisation); ``speed``: multiple of real time (None: as
    fast as the broker takes it). Runs real services, so no doctest: ``tests/cli/test_demo.py``.
    """

    def __init__(self, trained, frame: pd.DataFrame, sensors, *, data_dir: Path, models_dir: Path,
                 network: str = "pumpguard", broker_url: str | None = None, speed: float | None = None,
                 host: str = "127.0.0.1", port: int = 0, token: str | None = None, debounce: int = 3,
                 root: str = "pumpguard", repairs: pd.DataFrame | None = None) -> None:
        self.trained, self.frame, self.sensors = trained, frame, list(sensors)
        self.data_dir, self.models_dir, self.network = Path(data_dir), Path(models_dir), network
        self.external_broker, self.speed, self.host, self.port = broker_url, speed, host, port
        self.token = token or os.environ.get("PUMPGUARD_API_TOKEN") or secrets.token_urlsafe(18)
        self.debounce = int(debounce)
        self.repairs = repairs
        self.topics = Topics(site=DEMO_SITE, root=root)
        self.embedded = None
        self.broker_url: str | None = None
        self.server_url: str | None = None
        self.recorder = self.controller = self.scorer = self.server = self.hub = self.feed = None
        self._threads: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._started_at = self._feed_done_at = None

    # -- start -------------------------------------------------------------------------------------
    def _thread(self, name: str, target) -> threading.Event:
        stop = threading.Event()
        thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
        self._threads[name] = (thread, stop)
        thread.start()
        return stop

    @staticmethod
    def _wait(event: threading.Event, what: str, timeout_s: float = 30.0) -> None:
        if not event.wait(timeout_s):
            raise ConfigError(f"the demo's {what} did not come up within {timeout_s:g} s; is the broker reachable?")

    def start(self) -> "LiveDemo":
        """Start everything (see the module docstring); on a failure, stop what was started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from pumpguard.api.app import create_app
        from pumpguard.api.live import LiveHub
        from pumpguard.api.server import ApiServer
        from pumpguard.api.settings import Settings
        from pumpguard.network.controller import ControllerConfig
        from pumpguard.network.isolation import build_isolation_plan
        from pumpguard.network.topology import load_network
        from pumpguard.stream.control_codec import Localiser
        from pumpguard.stream.controller_service import ControllerService
        from pumpguard.stream.mqtt import ScoringService
        from pumpguard.stream.scorer import StreamScorer

        if self.external_broker is None:
            from pumpguard.stream.embedded_broker import start_embedded_broker

            self.embedded = start_embedded_broker()
            self.broker_url = self.embedded.url
        else:
            self.broker_url = self.external_broker
        broker = Broker.from_url(self.broker_url)
        on_receipt = self.embedded is not None
        run = uuid.uuid4().hex[:6]  # client ids unique per run: two demos may share a real broker

        self.recorder = Recorder(broker, topics=self.topics, client_id=f"pumpguard-demo-recorder-{run}").start()
        self._wait(self.recorder.ready, "recorder")

        wn = load_network(self.network)
        self.controller = ControllerService(
            broker, topics=self.topics, plan=build_isolation_plan(wn),
            localiser=Localiser([s for s in self.sensors if s.id not in station_sensors(self.sensors, wn)], wn),
            config=ControllerConfig(debounce=self.debounce), restore=False, ack_on_receipt=on_receipt,
            client_id=f"pumpguard-demo-controller-{run}")
        self._thread("pumpguard-demo-controller", self.controller.run)
        self._wait(self.controller.ready, "controller service")

        self.scorer = ScoringService(StreamScorer(self.trained, top_sensors=TOP_SENSORS), broker, topics=self.topics,
                                     client_id=f"pumpguard-demo-scorer-{run}", ack_on_receipt=on_receipt)
        self._thread("pumpguard-demo-scorer", self.scorer.run)
        self._wait(self.scorer.subscribed, "scoring service")

        settings = Settings(data_dir=self.data_dir, models_dir=self.models_dir, token=self.token,
                            broker_url=self.broker_url, site=DEMO_SITE, root=self.topics.root, network=self.network)
        self.hub = LiveHub(window=settings.window)
        app = create_app(settings, hub=self.hub)  # the map of settings.network, with readable sensor names
        self.server = ApiServer(app, host=self.host, port=self.port).start()
        self.server_url = self.server.url
        deadline = time.monotonic() + 30
        while not self.hub.broker_connected:
            if time.monotonic() > deadline:
                raise ConfigError("the dashboard's live view could not connect to the broker within 30 s")
            time.sleep(0.05)
        time.sleep(0.3)  # its SUBSCRIBE goes out right after CONNACK; give the broker a moment

        controller = self.controller
        self.feed = TelemetryFeed(self.frame, broker, topics=self.topics, asset=DEMO_ASSET, speed=self.speed,
                                  client_id=f"pumpguard-demo-feed-{run}", reports=[r for r in repair_reports(self.repairs) if len(self.frame) and r[0] > self.frame.index[0]],
                                  processed=lambda ts: controller.clock is not None and controller.clock >= ts).start()
        self._started_at = time.monotonic()

    @property
    def url(self) -> str:
        return f"{self.server_url}/"

    # -- run -----------------------------------------------------------------------------------------
    def caught_up(self) -> bool:
        """Every row sent is predicted and the controller has stepped on the last prediction."""
        if self.feed is None or not self.feed.done.is_set():
            return False
        predicted = self.recorder.record.prediction_count
        if predicted < self.feed.rows_sent:
            return False
        clock = self.controller.clock
        last = self.frame.index[self.feed.rows_sent - 1] if self.feed.rows_sent else None
        return last is None or (clock is not None and clock >= last)

    def wait(self, stop: threading.Event, *, duration_s: float | None = None, until_caught_up: bool = False,
             drain_s: float = 30.0, on_stream_end=None) -> None:
        """Block until ``stop`` is set, ``duration_s`` has passed since the feed started, or (with
        ``until_caught_up``) the feed has finished and every row went through both services.
        ``on_stream_end()`` is called once when every row went through (e.g. to tell the user)."""
        end = None if duration_s is None else self._started_at + float(duration_s)
        told = on_stream_end is None
        while not stop.is_set():
            now = time.monotonic()
            if not told and self.caught_up():
                told = True
                on_stream_end()
            if end is not None and now >= end:
                break
            if until_caught_up:
                if self.caught_up():
                    break
                if self.feed.done.is_set():
                    self._feed_done_at = self._feed_done_at or now
                    if now - self._feed_done_at > drain_s:
                        log.warning("the services did not catch up within %s s of the last row sent", drain_s)
                        break
            stop.wait(0.05)

    @property
    def seconds(self) -> float:
        """From the first row sent to the last prediction received (the end-to-end time of the stream)."""
        last = self.recorder.record.last_prediction_at if self.recorder is not None else None
        return float("nan") if self._started_at is None or last is None else last - self._started_at

    # -- stop ------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop in reverse order of start: feed, API (its live view first), scorer, controller,
        recorder, embedded broker. Safe to call twice."""
        if self.feed is not None:
            self.feed.stop()
        if self.server is not None:
            server, self.server = self.server, None
            server.stop()
        for name in ("pumpguard-demo-scorer", "pumpguard-demo-controller"):
            thread, stop = self._threads.pop(name, (None, None))
            if thread is not None:
                stop.set()
                thread.join(15)
                if thread.is_alive():
                    log.warning("%s did not stop within 15 s", name)
        if self.recorder is not None:
            self.recorder.stop()
        if self.embedded is not None:
            self.embedded.stop()

    def __enter__(self) -> "LiveDemo":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
