"""The live controller: the network's state machine driven by predictions from MQTT (the I/O part;
the handling of the messages is :mod:`pumpguard.stream.controller_handler`).

One controller per site. It subscribes to the predictions of the site's assets and to operator
commands (``<base>/controller/operator``, see :mod:`pumpguard.stream.control_codec`), steps
:class:`~pumpguard.network.controller.Controller` on each prediction, and publishes each transition
on ``controller/event``, its plant actions on ``controller/command`` and, after every batch, its
state on ``controller/state`` (RETAINED, QoS 1).

Restart: on its first connection the service subscribes to its own state topic and waits
``restore_wait_s`` after the broker confirmed the subscription (a broker sends a retained message
right after the SUBACK) and restores the controller from the snapshot inside it; then it
unsubscribes from it and starts stepping. Its session is persistent (MQTT 5 session expiry, or
MQTT 3.1.1 ``clean_session=False``), predictions are acknowledged only when the broker has
acknowledged the state message that includes them, and the keys ``asset@ts`` of the last
:data:`~pumpguard.stream.control_codec.RECENT_KEYS` predictions travel in the state: a prediction
redelivered after a crash is recognised and not stepped on twice. Events published just before a
crash may be published again (at least once).

``protocol="3.1.1"`` runs on brokers without MQTT 5; ``restore=False`` starts fresh without looking
at the retained state (the demo does: its embedded broker keeps nothing across runs);
``ack_on_receipt=True`` lets paho acknowledge each message on arrival, which the embedded broker
(rumqttd) needs: it holds a client's PUBACKs back while that client has 100 deliveries
unacknowledged, so acknowledging after the state's PUBACK stalls there (``docs/broker.md``). It gives up
redelivery after a crash, which the demo does not need.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque

import paho.mqtt.client as paho

from pumpguard.errors import ConfigError
from pumpguard.network.controller import ControllerConfig, IsolationPlanLike
from pumpguard.stream.codec import Rejected, Topics, encode_presence
from pumpguard.stream.connection import PROTOCOLS, say_goodbye
from pumpguard.stream.control_codec import Localiser
# the handling moved to controller_handler; ControllerStats and now_utc stay importable from here
from pumpguard.stream.controller_handler import ControllerHandler, ControllerStats, now_utc  # noqa: F401
from pumpguard.stream.mqtt import (
    DEFAULT_SESSION_EXPIRY_S,
    Broker,
    connect_properties,
    make_client,
)

log = logging.getLogger("pumpguard.stream.controller")

#: Messages handled together (one state message for all of them).
DEFAULT_MAX_BATCH = 500
#: A broker sends a retained message right after its SUBACK; 1 s covers a loaded loopback broker.
DEFAULT_RESTORE_WAIT_S = 1.0


class ControllerService(ControllerHandler):
    """Runs a :class:`Controller` on the live predictions of one site.

    ``handle(messages)`` (:class:`~pumpguard.stream.controller_handler.ControllerHandler`) is the
    whole logic on a batch ``[(topic, payload), ...]`` and returns the messages to publish
    ``[(topic, payload, retain)]``; ``run(stop)`` wraps it in the MQTT loop.
    Tested against a real Mosquitto in ``tests/stream/test_controller_service.py``.
    """

    def __init__(
        self,
        broker: Broker,
        *,
        topics: Topics,
        plan: IsolationPlanLike | None = None,
        config: ControllerConfig = ControllerConfig(),
        localiser: Localiser | None = None,
        client_id: str | None = None,
        protocol: str = "5",
        restore: bool = True,
        restore_wait_s: float = DEFAULT_RESTORE_WAIT_S,
        session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S,
        max_batch: int = DEFAULT_MAX_BATCH,
        asset: str | None = None,
        ack_on_receipt: bool = False,
    ) -> None:
        super().__init__(topics=topics, plan=plan, config=config, localiser=localiser, client_id=client_id,
                         asset=asset)
        if protocol not in PROTOCOLS:
            raise ConfigError(f"MQTT protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        self.broker = broker
        self.protocol = protocol
        self.restore = restore
        self.restore_wait_s = float(restore_wait_s)
        self.session_expiry_s = int(session_expiry_s)
        self.max_batch = int(max_batch)
        self.ack_on_receipt = bool(ack_on_receipt)
        self.presence_topic = topics.presence(self.client_id)
        #: set when the controller is restored (or started fresh) and steps on predictions
        self.ready = threading.Event()
        self.connected = threading.Event()
        self._inbox: queue.Queue = queue.Queue()
        self._retained: queue.Queue = queue.Queue()
        self._state_suback: float | None = None
        self._state_sub_mid: int | None = None
        self._generation = 0
        self._published: deque[int] = deque()
        self._waiting: dict[int, list[tuple[int, int, int]]] = {}
        self._client: paho.Client | None = None

    # -- paho network thread --------------------------------------------------------------------------

    def _presence(self, status: str) -> bytes:
        return encode_presence(status, client_id=self.client_id, ts=now_utc(), model="controller")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker %s:%s refused the controller: %s", self.broker.host, self.broker.port, reason_code)
            return
        self._generation += 1
        self.stats.connects += 1
        if self.restore and not self.ready.is_set():
            _, self._state_sub_mid = client.subscribe(self.topics.controller_state, qos=1)
        client.subscribe([(self.prediction_filter, 1), (self.operator_topic, 1)])
        client.publish(self.presence_topic, self._presence("online"), qos=1, retain=True)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("the broker refused a subscription of the controller: %s (check the ACL)", failed[0])
        if mid == self._state_sub_mid:  # refused too: then there is nothing to restore from, start fresh
            self._state_suback = time.monotonic()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if reason_code != 0:
            log.warning("lost the broker (%s); reconnecting with backoff", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        item = (message.topic, message.payload, message.mid, message.qos, self._generation)
        if message.topic == self.topics.controller_state:
            if self.ready.is_set():  # our own state coming back, or a re-sent retained copy: not news
                self._ack(message.mid, message.qos, self._generation)
            else:
                self._retained.put(item)
            return
        self._inbox.put(item)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._published.append(mid)

    # -- service thread -------------------------------------------------------------------------------

    def _ack(self, mid: int, qos: int, generation: int) -> None:
        if qos > 0 and generation == self._generation and self._client is not None and not self.ack_on_receipt:
            self._client.ack(mid, qos)

    def _settle(self) -> None:
        while self._published:
            for delivery in self._waiting.pop(self._published.popleft(), ()):
                self._ack(*delivery)

    def _restore_phase(self, stop: threading.Event) -> None:
        """Wait for the retained state (if any) after the SUBACK, restore, stop listening to it."""
        if self.restore:
            while not stop.is_set() and self._state_suback is None:
                time.sleep(0.01)
            deadline = (self._state_suback or time.monotonic()) + self.restore_wait_s
            chosen = None
            while not stop.is_set():
                try:
                    chosen = self._retained.get(timeout=max(0.0, deadline - time.monotonic()))
                    break
                except queue.Empty:
                    break
            if chosen is not None:
                topic, payload, mid, qos, generation = chosen
                problem = self.restore_from(payload)
                if problem is None:
                    log.info("restored the controller from the retained state: %s", self.controller.state.value)
                else:
                    log.error("%s; starting fresh", problem)
                    self._client.publish(self.topics.errors, Rejected(problem, topic, payload).to_error(received_at=now_utc()), qos=1)
                self._ack(mid, qos, generation)
            self._client.unsubscribe(self.topics.controller_state)
        self.ready.set()
        while True:  # anything else that came on the state topic meanwhile
            try:
                _, _, mid, qos, generation = self._retained.get_nowait()
            except queue.Empty:
                break
            self._ack(mid, qos, generation)

    def _take(self, timeout: float) -> list[tuple]:
        try:
            taken = [self._inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(taken) < self.max_batch:
            try:
                taken.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return taken

    def run(self, stop: threading.Event | None = None, *, until=None) -> ControllerStats:
        """Run until ``stop`` is set or ``until(stats)`` returns True; then say goodbye and disconnect."""
        stop = stop or threading.Event()
        client = make_client(self.client_id, self.broker, protocol=self.protocol,
                             will=(self.presence_topic, self._presence("offline")),
                             manual_ack=not self.ack_on_receipt)
        self._client = client
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        if self.protocol == "5":
            client.connect_async(self.broker.host, self.broker.port, keepalive=30, clean_start=False,
                                 properties=connect_properties(session_expiry_s=self.session_expiry_s))
        else:
            client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        client.loop_start()
        try:
            self._restore_phase(stop)
            # announce the state it starts from (restored or fresh): retained for dashboards and restarts
            client.publish(self.topics.controller_state, self.state_payload(), qos=1, retain=True)
            while not stop.is_set():
                self._settle()
                taken = self._take(timeout=0.05)
                if taken:
                    outgoing = self.handle([(t, p) for t, p, *_ in taken])
                    info = None
                    for topic, payload, retain in outgoing:
                        info = client.publish(topic, payload, qos=1, retain=retain)
                    # the state is last: once the broker has it, every message of the batch is accounted for
                    self._waiting[info.mid] = [(mid, qos, gen) for _, _, mid, qos, gen in taken]
                if until is not None and until(self.stats):
                    break
        finally:
            self._leave()
        return self.stats

    def _leave(self, grace_s: float = 5.0) -> None:
        say_goodbye(self._client, self.presence_topic, self._presence("offline"), connected=self.connected,
                    pending=lambda: bool(self._waiting), settle=self._settle, grace_s=grace_s)


