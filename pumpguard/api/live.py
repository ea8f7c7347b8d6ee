"""The live state hub: the last few hundred predictions and telemetry rows per asset, the
controller's state and history, the alarm list -- fed from MQTT or in process -- and a fan-out of
every change to the browsers (server-sent events).

Fed in process through :meth:`LiveHub.publish` (the demo, tests) or by :meth:`LiveHub.connect`,
which subscribes with paho (``pumpguard.stream.make_client``) to predictions, telemetry and the
controller's retained state and events. ``publish`` is thread-safe (paho calls it from its network
thread); each browser gets a bounded queue, so a slow browser loses its oldest updates instead of
holding memory (it reloads the whole picture from :meth:`snapshot` when it reconnects).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from pumpguard.api.alarms import AlarmBook

log = logging.getLogger("pumpguard.api")

KINDS = ("prediction", "telemetry", "controller/state", "controller/event")
#: Updates queued per browser before its oldest are dropped (a second of a busy demo is ~100).
BROWSER_QUEUE = 1_000
#: Controller transitions kept for the history strip.
HISTORY = 200


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _rows(payload: Any) -> list:
    if isinstance(payload, dict) and isinstance(payload.get("rows"), list):
        return [r for r in payload["rows"] if isinstance(r, dict)]
    return [payload] if isinstance(payload, dict) else []


class LiveHub:
    """What is happening now, for the dashboard and ``GET /state`` / ``GET /alarms``.

    Examples
    --------
    >>> hub = LiveHub(window=10)
    >>> hub.publish("prediction", {"ts": "2026-01-01T00:00:00Z", "score": 5.0, "threshold": 1.0,
    ...             "anomaly": True, "status": "ANOMALY", "top_sensors": [{"sensor": "p1", "share": 0.7}]},
    ...             asset="pump_a")
    >>> hub.publish("controller/state", {"state": "ALARM", "suspected": ["J-N2"],
    ...             "alarms": [{"id": "A1", "raised": "2026-01-01T00:00:00Z", "reason": "anomaly confirmed"}]})
    >>> hub.state()["controller"]["state"], [a["id"] for a in hub.alarms()]
    ('ALARM', ['D-1', 'C-A1'])
    >>> hub.acknowledge("C-A1", by="operator")["acknowledged_by"]
    'operator'
    """

    def __init__(self, *, window: int = 600, metrics=None) -> None:
        self.window = int(window)
        self.metrics = metrics
        self._lock = threading.RLock()
        self._predictions: dict[str, deque] = {}
        self._telemetry: dict[str, deque] = {}
        self._controller: dict | None = None
        self._history: deque = deque(maxlen=HISTORY)
        self._book = AlarmBook()
        self._browsers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        #: called as ``handler(alarm, by)`` after an acknowledgement (e.g. to tell the controller)
        self.acknowledge_handlers: list[Callable[[dict, str], None]] = []
        self._client = None
        self._connected = False
        self.received = 0

    # -- feeding -----------------------------------------------------------------------------------
    def publish(self, kind: str, payload: Any, *, asset: str = "") -> None:
        """Take one message as it would arrive on MQTT: ``kind`` is prediction, telemetry,
        controller/state or controller/event; ``payload`` the decoded JSON (a batch ``{"rows": [...]}``
        is taken row by row); ``asset`` the asset of a prediction/telemetry topic."""
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r}: expected one of {KINDS}")
        events: list[dict] = []
        with self._lock:
            self.received += 1
            if kind == "prediction":
                for p in _rows(payload):
                    events += self._prediction(asset or str(p.get("asset") or "asset"), p)
            elif kind == "telemetry":
                for r in _rows(payload):
                    name = asset or str(r.get("asset") or "asset")
                    point = {"ts": r.get("ts"), "values": r.get("values") if isinstance(r.get("values"), dict) else {}}
                    self._telemetry.setdefault(name, deque(maxlen=self.window)).append(point)
                    events.append({"type": "telemetry", "asset": name, "data": point})
            elif kind == "controller/state" and isinstance(payload, dict):
                events += self._controller_state(payload)
            elif kind == "controller/event" and isinstance(payload, dict):
                events += self._controller_event(payload)
        for event in events:
            self._fan_out(event)

    def _prediction(self, asset: str, p: dict) -> list[dict]:
        point = {k: p.get(k) for k in ("ts", "score", "threshold", "anomaly", "status", "top_sensors", "model")}
        self._predictions.setdefault(asset, deque(maxlen=self.window)).append(point)
        if self.metrics is not None:
            self.metrics.rows_scored(1, source="stream")
        out = [{"type": "prediction", "asset": asset, "data": point}]
        before = self._book.raised["detector"]
        alarm = self._book.on_prediction(asset, point)
        if alarm is not None:
            if self.metrics is not None and self._book.raised["detector"] > before:
                self.metrics.alarm_raised(source="detector")
            out.append({"type": "alarm", "data": dict(alarm)})
        return out

    def _latest_top_sensors(self) -> list:
        for series in self._predictions.values():
            for p in reversed(series):
                if p.get("anomaly"):
                    return list(p.get("top_sensors") or [])
        return []

    def _controller_state(self, message: dict) -> list[dict]:
        state = _controller_view(message)
        history = message.get("history")
        if not isinstance(history, list) and isinstance(message.get("snapshot"), dict):
            history = message["snapshot"].get("history")
        if isinstance(history, list) and history:
            self._history.clear()
            self._history.extend(h for h in history if isinstance(h, dict))
        self._controller = state
        out = [{"type": "state", "data": self._state_locked()}]
        before = self._book.raised["controller"]
        for alarm in self._book.on_controller_alarms(state.get("alarms") or [], top_sensors=self._latest_top_sensors()):
            out.append({"type": "alarm", "data": dict(alarm)})
        if self.metrics is not None:
            for _ in range(self._book.raised["controller"] - before):
                self.metrics.alarm_raised(source="controller")
        return out

    def _controller_event(self, event: dict) -> list[dict]:
        if event.get("type") == "acknowledged" and isinstance(event.get("alarm_id"), str):
            alarm = self._book.get(f"C-{event['alarm_id']}")
            if alarm is None:
                return []
            alarm = self._book.acknowledge(alarm["id"], by=str(event.get("by") or "controller"),
                                           ts=str(event.get("ts") or _now()))
            return [{"type": "alarm", "data": dict(alarm)}]
        if not isinstance(event.get("to_state"), str):
            return []  # an event kind this view does not draw
        self._history.append(event)
        if self._controller is None:
            self._controller = {"state": event["to_state"], "received": _now()}
        else:
            self._controller["state"] = event["to_state"]
        return [{"type": "transition", "data": dict(event)}, {"type": "state", "data": self._state_locked()}]

    def publish_message(self, topic: str, payload: bytes, topics) -> bool:
        """Take one raw MQTT message (``topic``, JSON ``payload`` bytes) under ``topics``' root, e.g. what a
        service's ``handle()`` returns in process; False when it is not a kind this view shows."""
        from pumpguard.stream.codec import decode_object

        parsed = topics.parse(topic)
        if parsed is None or parsed[0] not in KINDS:
            return False
        body = decode_object(payload)
        if body is None:
            if self.metrics is not None:
                self.metrics.error("live_not_json")
            return False
        self.publish(parsed[0], body, asset=parsed[2] if parsed[0] in ("prediction", "telemetry") else "")
        return True

    # -- reading -----------------------------------------------------------------------------------
    def _state_locked(self) -> dict:
        latest = {a: dict(s[-1]) for a, s in self._predictions.items() if s}
        return {"controller": None if self._controller is None else dict(self._controller),
                "history": list(self._history)[-50:], "assets": latest,
                "broker_connected": self.broker_connected, "alarms_open": self._book.open_count}

    def state(self) -> dict:
        """The controller's last state, its recent transitions and each asset's latest prediction."""
        with self._lock:
            return self._state_locked()

    def alarms(self, *, open_only: bool = False) -> list[dict]:
        with self._lock:
            return self._book.list(open_only=open_only)

    @property
    def alarms_open(self) -> int:
        with self._lock:
            return self._book.open_count

    def acknowledge(self, alarm_id: str, *, by: str) -> dict:
        """Mark an alarm acknowledged (raises :class:`~pumpguard.api.alarms.UnknownAlarmError`)."""
        with self._lock:
            alarm = dict(self._book.acknowledge(alarm_id, by=by, ts=_now()))
        for handler in self.acknowledge_handlers:
            try:
                handler(alarm, by)
            except Exception:  # noqa: BLE001 -- a failing listener must not undo the operator's ack
                log.exception("acknowledge handler %r failed", handler)
        self._fan_out({"type": "alarm", "data": alarm})
        return alarm

    def snapshot(self) -> dict:
        """Everything a fresh page draws: windows of predictions and telemetry, state, history, alarms."""
        with self._lock:
            return {"predictions": {a: list(s) for a, s in self._predictions.items()},
                    "telemetry": {a: list(s) for a, s in self._telemetry.items()},
                    "state": self._state_locked(), "alarms": self._book.list()}

    # -- browsers ----------------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue:
        """A queue of updates for one browser (call from the event loop; :meth:`unsubscribe` after)."""
        q: asyncio.Queue = asyncio.Queue(maxsize=BROWSER_QUEUE)
        with self._lock:
            self._browsers.add((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        with self._lock:
            self._browsers = {(loop, other) for loop, other in self._browsers if other is not q}

    def _fan_out(self, event: dict | None) -> None:
        with self._lock:
            browsers = list(self._browsers)
        for loop, q in browsers:
            try:
                loop.call_soon_threadsafe(_offer, q, event)
            except RuntimeError:  # that loop has closed: the browser is gone
                self.unsubscribe(q)

    def close_browsers(self) -> None:
        """End every browser's stream (at shutdown, so the server does not wait on open streams)."""
        self._fan_out(None)

    # -- MQTT --------------------------------------------------------------------------------------
    @property
    def broker_connected(self) -> bool | None:
        """True/False when a broker is configured, None without one."""
        return None if self._client is None else self._connected

    def connect(self, broker, topics) -> None:
        """Subscribe to predictions, telemetry and controller state/events of ``topics`` on ``broker``
        (a :class:`pumpguard.stream.mqtt.Broker`); paho reconnects by itself with backoff."""
        from pumpguard.stream.mqtt import connect_properties, make_client

        client = make_client(f"pumpguard-api-{uuid.uuid4().hex[:8]}", broker)
        filters = [(topics.prediction("+"), 1), (topics.telemetry("+"), 0),
                   (topics.controller_state, 1), (topics.controller_event, 1)]

        def on_connect(c, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                log.error("broker refused the live view's connection: %s", reason_code)
                return
            self._connected = True
            c.subscribe(filters)

        def on_disconnect(c, userdata, flags, reason_code, properties):
            self._connected = False
            if self.metrics is not None:
                self.metrics.error("broker_disconnect")

        def on_message(c, userdata, message):
            self.publish_message(message.topic, message.payload, topics)

        def tell_controller(alarm: dict, by: str) -> None:
            # the controller service takes operator commands on <base>/controller/operator
            site = topics.site if topics.site != "+" else (self._controller or {}).get("site")
            if alarm.get("source") != "controller" or not site or self._client is None:
                return
            from pumpguard.stream.codec import Topics, encode_object
            from pumpguard.stream.control_codec import operator_topic

            self._client.publish(operator_topic(Topics(site=site, root=topics.root).base), encode_object(
                {"command": "acknowledge", "alarm_id": alarm["controller_id"], "by": by}), qos=1)

        self.acknowledge_handlers.append(tell_controller)
        client.on_connect, client.on_disconnect, client.on_message = on_connect, on_disconnect, on_message
        client.connect_async(broker.host, broker.port, keepalive=30, clean_start=True,
                             properties=connect_properties(session_expiry_s=0))
        client.loop_start()  # paho's network thread, named paho-mqtt-client-<client id>
        self._client = client

    def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._connected = False


def _controller_view(message: dict) -> dict:
    """What the dashboard needs of a controller state message: either the controller service's
    retained message (``format`` pumpguard.controller-state/1, the snapshot inside) or a bare
    ``Controller.snapshot()``; the long lists (recent prediction keys, history) are left out."""
    inner = message.get("snapshot") if isinstance(message.get("snapshot"), dict) else message
    view = {"state": message.get("state", inner.get("state")),
            "suspected": list(inner.get("suspected") or message.get("suspected") or []),
            "engaged": list(message.get("engaged") or inner.get("engaged") or []),
            "alarms": list(inner.get("alarms") or message.get("alarms") or []),
            "active_alarm": message.get("active_alarm"),
            "ts": message.get("ts", inner.get("last_ts")),
            "site": message.get("site"), "received": _now()}
    if not view["suspected"] and isinstance(view["active_alarm"], dict):
        view["suspected"] = list(view["active_alarm"].get("suspected") or [])
    return view


def _offer(q: asyncio.Queue, event: dict | None) -> None:
    if q.full():
        try:
            q.get_nowait()  # drop the oldest: the browser is too slow
        except asyncio.QueueEmpty:
            pass
    q.put_nowait(event)
