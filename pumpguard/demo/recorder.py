"""What crossed the broker during a live demo: predictions, controller transitions, plant commands,
the controller's alarms with their suspected places, errors -- the raw material of the live report.

It is one more MQTT subscriber (:func:`pumpguard.stream.clients.listen`), so the report is about what
the services actually published, not about what they were given.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pumpguard.stream.clients import listen
from pumpguard.stream.codec import Topics
from pumpguard.stream.connection import Broker


@dataclass
class RunRecord:
    """Everything the recorder saw, in arrival order (thread-safe appends; read after :meth:`Recorder.stop`).

    Examples
    --------
    >>> record = RunRecord()
    >>> record.take("prediction", {"rows": [{"ts": "2018-04-01T00:00:00Z", "score": 1.0, "anomaly": False}]})
    >>> record.take("controller/state", {"active_alarm": {"id": "A-0001", "raised": "2018-04-01T00:03:00Z",
    ...             "suspected": ["J-C2", "P-C2"]}})
    >>> len(record.predictions), record.alarms["A-0001"]["suspected"]
    (1, ['J-C2', 'P-C2'])
    """

    predictions: list[dict] = field(default_factory=list)
    transitions: list[dict] = field(default_factory=list)
    commands: list[dict] = field(default_factory=list)
    acknowledgements: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    #: controller alarm id -> {"id", "raised", "suspected"} (the first non-empty suspicion seen)
    alarms: dict[str, dict] = field(default_factory=dict)
    #: ``time.monotonic()`` when the last prediction arrived (None before the first)
    last_prediction_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, kind: str, body: object) -> None:
        if not isinstance(body, dict):
            return
        with self._lock:
            if kind == "prediction":
                rows = body.get("rows") if isinstance(body.get("rows"), list) else [body]
                self.predictions.extend(r for r in rows if isinstance(r, dict))
                self.last_prediction_at = time.monotonic()
            elif kind == "controller/event":
                (self.acknowledgements if body.get("type") == "acknowledged" else self.transitions).append(body)
            elif kind == "controller/command":
                self.commands.append(body)
            elif kind == "errors":
                self.errors.append(body)
            elif kind == "controller/state" and isinstance(body.get("active_alarm"), dict):
                alarm = body["active_alarm"]
                known = self.alarms.setdefault(str(alarm.get("id")), {"id": alarm.get("id"), "raised": alarm.get("raised"),
                                                                       "suspected": []})
                if not known["suspected"] and alarm.get("suspected"):
                    known["suspected"] = list(alarm["suspected"])

    @property
    def prediction_count(self) -> int:
        with self._lock:
            return len(self.predictions)


class Recorder:
    """Subscribes to a site's predictions, controller messages and errors in a thread named
    ``pumpguard-demo-recorder``; :attr:`record` fills as messages arrive. Needs a broker (no doctest)."""

    KINDS = ("prediction", "errors", "controller/state", "controller/event", "controller/command")

    def __init__(self, broker: Broker, *, topics: Topics, client_id: str = "pumpguard-demo-recorder") -> None:
        self.broker, self.topics, self.client_id = broker, topics, client_id
        self.record = RunRecord()
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pumpguard-demo-recorder", daemon=True)

    def _run(self) -> None:
        listen(self.broker, topics=self.topics, on_message=lambda kind, topic, body: self.record.take(kind, body),
               stop=self._stop, client_id=self.client_id, kinds=self.KINDS, ready=self.ready)

    def start(self) -> "Recorder":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
