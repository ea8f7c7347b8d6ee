"""The MQTT transport: connections, sessions, acknowledgements, backpressure (the I/O of the stream).

Delivery guarantee: **at least once, end to end**. The service receives telemetry at QoS 1 with
manual acknowledgement and acknowledges a telemetry message only when the broker has acknowledged
every prediction and error it produced. Its session is persistent (MQTT 5 ``clean_start=False``
with a session expiry), so whatever was not acknowledged -- the service crashed, the broker
restarted -- is delivered again; the scorer drops the repeats by ``(asset, ts)``.

Backpressure is the protocol's own: the service announces a *Receive Maximum* (how many
unacknowledged messages the broker may have in flight to it); the broker keeps the rest queued
(``max_queued_messages`` in deploy/mosquitto) instead of the service buffering without bound.

Scale-out: with ``share_group`` several services subscribe to ``$share/<group>/...`` and the broker
gives each message to one of them. TCP_NODELAY is set on the socket: a prediction is a small
message and Nagle's algorithm would otherwise hold it back waiting for an acknowledgement.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

from pumpguard.detectors.compute_threads import compute_threads_held
from pumpguard.stream.acks import Acknowledgements, Delivery
from pumpguard.stream.assembler import RowAssembler
from pumpguard.stream.codec import (
    Rejected,
    RowBlock,
    TelemetryCodec,
    TelemetryRow,
    Topics,
    encode_predictions,
    encode_presence,
)
from pumpguard.stream.connection import (  # noqa: F401  (re-exported: other services import them from here)
    DEFAULT_SESSION_EXPIRY_S,
    RECONNECT_MAX_S,
    RECONNECT_MIN_S,
    Broker,
    NetworkLoop,
    connect_properties,
    make_client,
    now_utc,
    say_goodbye,
)
from pumpguard.stream.gc_tuning import GC_GEN0_THRESHOLD, serving_gc  # noqa: F401  (GC_GEN0_THRESHOLD re-exported)
from pumpguard.stream.node_intake import NodeIntake
from pumpguard.stream.scorer import StreamScorer

log = logging.getLogger("pumpguard.stream")

#: Prediction rows in one message at most. A row is ~250 bytes, so 1,000 rows are ~250 KB: well
#: under the 1 MiB a broker takes by default (the embedded broker's limit; Mosquitto's
#: ``message_size_limit``); a broker disconnects a client that publishes more, and the service
#: would publish the same batch again after every reconnect.
MAX_PREDICTIONS_PER_MESSAGE = 1_000
#: Unacknowledged messages the broker may send ahead; large enough to fill a scoring batch.
DEFAULT_RECEIVE_MAXIMUM = 2_000
#: Messages scored together at most (one detector call).
DEFAULT_MAX_BATCH_ROWS = 5_000
#: Payload bytes scored together at most: ~2,500 rows of 52 sensors. A detector's matrix work per
#: row is least between ~1,000 and ~5,000 rows (PCA here: 1.7-1.8 us a row; 3.4 at 40,000 rows,
#: whose arrays no longer fit in the cache), and a batch of this size is ~0.05 s of work.
DEFAULT_MAX_BATCH_BYTES = 4 << 20


@dataclass
class ServiceStats:
    messages: int = 0
    rows: int = 0
    predictions: int = 0
    rejected: int = 0
    duplicates: int = 0
    quality_events: int = 0
    connects: int = 0
    started: float = field(default_factory=time.monotonic)


class ScoringService(NodeIntake):
    """Subscribes to telemetry, scores it with a :class:`StreamScorer`, publishes predictions and errors.

    ``run(stop)`` blocks until ``stop`` is set (or a signal handler sets it). One thread does it
    all -- reads the socket, decodes, scores, publishes, reconnects -- through a
    :class:`~pumpguard.stream.connection.NetworkLoop`: with paho's own network thread the two
    threads handed the GIL over several times a message, and that, not the scoring, capped the
    service (docs/mqtt.md has the figures).
    ``ack_on_receipt=True`` acknowledges telemetry on arrival instead of after the outputs' PUBACKs:
    weaker (a crash loses what was received but not yet predicted), for the embedded demo broker only.
    Tested against a real Mosquitto in ``tests/stream``; no doctest (it needs a broker).
    """

    def __init__(
        self,
        scorer: StreamScorer,
        broker: Broker,
        *,
        topics: Topics | None = None,
        client_id: str = "pumpguard-serve",
        share_group: str | None = None,
        session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S,
        receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM,
        max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        codec: TelemetryCodec | None = None,
        assembler: RowAssembler | None = None,
        ack_on_receipt: bool = False,
        tune_gc: bool = True,
    ) -> None:
        self.scorer = scorer
        #: freeze start-up objects and raise the young-generation threshold while serving (see GC_GEN0_THRESHOLD)
        self.tune_gc = bool(tune_gc)
        #: paho acknowledges each telemetry message on arrival. This WEAKENS the at-least-once
        #: guarantee (a message received but not yet predicted when the service dies is lost) and is
        #: for the embedded demo broker only: rumqttd holds back PUBACKs to a client with 100
        #: deliveries unacknowledged, so acknowledging after our own PUBACKs stalls there
        #: (docs/broker.md).
        self.ack_on_receipt = bool(ack_on_receipt)
        #: rows from per-node readings (subscribes to the node topics, not shared: see docs/mqtt.md)
        self.assembler = assembler
        self._row_owners: dict[tuple, list[Delivery]] = {}
        self._clock: tuple | None = None
        self.broker = broker
        self.topics = topics or Topics()
        self.client_id = client_id
        self.share_group = share_group
        self.session_expiry_s = session_expiry_s
        if assembler is not None:
            # readings of rows still waiting for nodes stay unacknowledged and count against the
            # Receive Maximum: leave room for two open rows of every node besides the stream
            receive_maximum = max(receive_maximum, 2 * len(assembler.nodes) + 1_000)
        self.receive_maximum = min(int(receive_maximum), 65_535)  # the protocol's largest value
        self.max_batch_rows = max_batch_rows
        self.max_batch_bytes = max(1, int(max_batch_bytes))
        self.codec = codec or TelemetryCodec(sensors=scorer.sensors, topics=self.topics)
        #: clean messages are scored as column blocks (no row objects): the codec's columns are the
        #: scorer's and the scorer scores blocks as they are (a row-wise pumpguard detector)
        self._columnar = (self.codec.columns == tuple(scorer.sensors) and bool(getattr(scorer, "columnar", False))
                          and callable(getattr(scorer, "score_blocks", None)))

        self.stats = ServiceStats()
        self.connected = threading.Event()
        #: set once the broker has confirmed the subscription (telemetry from then on is kept for us)
        self.subscribed = threading.Event()
        presence_site = self.topics.site if self.topics.site != "+" else "_all"
        self.presence_topic = Topics(site=presence_site, root=self.topics.root).presence(client_id)
        #: received, not yet handled: the broker sends at most receive_maximum unacknowledged messages
        self._inbox: list[tuple] = []
        #: outputs sent and not yet acknowledged by the broker, and the telemetry waiting for them
        self._acks = Acknowledgements()
        self._generation = 0
        self._net: NetworkLoop | None = None
        self._seen_inbox = 0
        self._client = make_client(
            client_id,
            broker,
            manual_ack=not self.ack_on_receipt,
            will=(self.presence_topic, self._presence("offline")),
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_subscribe = self._on_subscribe

    # -- paho callbacks (called from NetworkLoop.step, in the service's thread) ---------------------

    def _presence(self, status: str) -> bytes:
        return encode_presence(status, client_id=self.client_id, ts=now_utc(), model=self.scorer.model_name)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker %s:%s refused the connection: %s", self.broker.host, self.broker.port, reason_code)
            return
        # acknowledgements owed on the old connection are void: the broker redelivers those messages
        self._generation += 1
        self.stats.connects += 1
        if self._net is not None:
            self._net.connected()
        subscription = self.topics.subscription_telemetry(self.share_group)
        client.subscribe(subscription, qos=1)
        if self.assembler is not None:
            client.subscribe(self.topics.subscription_nodes(), qos=1)
        client.publish(self.presence_topic, self._presence("online"), qos=1, retain=True)
        log.info(
            "connected to %s:%s (session %s), subscribed to %s",
            self.broker.host,
            self.broker.port,
            "resumed" if flags.session_present else "new",
            subscription,
        )
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("the broker refused the subscription: %s (check the ACL for this user)", failed[0])
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if reason_code != 0:
            log.warning("lost the broker (%s); reconnecting with backoff up to %s s", reason_code, RECONNECT_MAX_S)

    def _on_connect_fail(self, client, userdata) -> None:
        log.warning("cannot reach the broker at %s:%s; retrying", self.broker.host, self.broker.port)

    def _on_message(self, client, userdata, message) -> None:
        self._inbox.append((message.topic, message.payload, message.mid, message.qos, self._generation))

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._acks.published(mid)

    # -- service thread ---------------------------------------------------------------------------

    def _settle(self) -> None:
        """Acknowledge telemetry whose outputs the broker has acknowledged."""
        for delivery in self._acks.settle():
            self._ack(delivery)

    def _ack(self, delivery: Delivery) -> None:
        if self.ack_on_receipt:  # paho acknowledged it on arrival
            return
        if delivery.qos > 0 and delivery.generation == self._generation:
            self._client.ack(delivery.mid, delivery.qos)

    def _send(self, topic: str, payload: bytes, *deliveries: Delivery) -> None:
        info = self._client.publish(topic, payload, qos=1)
        # rc may be "no connection": paho keeps a QoS 1 message and sends it after reconnecting
        self._acks.sent(info.mid, *deliveries)

    def _error(self, rejected: Rejected, *deliveries: Delivery) -> None:
        self.stats.rejected += 1
        parsed = self.topics.parse(rejected.topic)
        site = parsed[1] if parsed else (self.topics.site if self.topics.site != "+" else "_all")
        topic = Topics(site=site, root=self.topics.root).errors
        self._send(topic, rejected.to_error(received_at=now_utc()), *deliveries)

    def _take(self) -> list[tuple]:
        """Received messages, oldest first: up to ``max_batch_rows`` of them and about
        ``max_batch_bytes`` of payload (at least one message)."""
        inbox, budget, n = self._inbox, self.max_batch_bytes, 0
        limit = min(len(inbox), self.max_batch_rows)
        while n < limit and budget > 0:
            budget -= len(inbox[n][1])
            n += 1
        taken = inbox[:n]
        del inbox[:n]
        return taken

    def _room(self) -> bool:
        """Keep reading the socket: the last read brought a message and the batch has room."""
        grew, self._seen_inbox = len(self._inbox) > self._seen_inbox, len(self._inbox)
        return grew and self._seen_inbox < self.max_batch_rows

    def handle(self, messages: list[tuple]) -> None:
        """Decode, score and publish a batch of received messages ``(topic, payload, mid, qos, gen)``."""
        items: list[tuple[TelemetryRow, tuple[Delivery, ...]]] = []
        deliveries = []
        # clean messages stay in columns (the codec's fast path) and are scored together in one call
        blocks: list[tuple[RowBlock, Delivery]] = []
        for topic, payload, mid, qos, generation in messages:
            delivery = Delivery(mid=mid, qos=qos, generation=generation)
            deliveries.append(delivery)
            if self.assembler is not None and "/node/" in topic and (self.topics.parse(topic) or ("",))[0] == "node":
                self._take_node(topic, payload, delivery, items)
                continue
            decoded = self.codec.decode_telemetry(topic, payload)
            for rejected in decoded.rejected:
                self._error(rejected, delivery)
            if decoded.block is not None and self._columnar:
                blocks.append((decoded.block, delivery))
            else:
                items.extend((row, (delivery,)) for row in decoded.rows)
        self.stats.messages += len(messages)
        if blocks:
            self._score_blocks(blocks)
        if items:
            self._score_and_publish(items)
        self._ack_idle(itertools.chain(deliveries, (d for _, owners in items for d in owners)))

    def _score_blocks(self, blocks: list[tuple[RowBlock, Delivery]]) -> None:
        """Clean messages, scored in columns: one prediction message per asset."""
        self.stats.rows += sum(len(block) for block, _ in blocks)
        try:
            per_block = self.scorer.score_blocks([block for block, _ in blocks])
        except Exception as exc:  # a detector bug must not stop the service: report every row
            log.exception("scoring failed")
            self._scoring_failed(exc, [(row, (delivery,)) for block, delivery in blocks for row in block.rows()])
            return
        self.stats.duplicates = self.scorer.duplicates
        grouped: dict[tuple[str, str], tuple[list[dict], dict[int, Delivery]]] = {}
        for (block, delivery), predictions in zip(blocks, per_block):
            mine = [p for p in predictions if p is not None]
            if mine:
                found = grouped.setdefault((block.site, block.asset), ([], {}))
                found[0].extend(mine)
                found[1][id(delivery)] = delivery
        self._publish_predictions(grouped)

    def _score_and_publish(self, items: list[tuple[TelemetryRow, tuple[Delivery, ...]]]) -> None:
        rows = [row for row, _ in items]
        self.stats.rows += len(rows)
        try:
            predictions = self.scorer.score(rows)
        except Exception as exc:  # a detector bug must not stop the service: report every row
            log.exception("scoring failed")
            predictions = [None] * len(rows)
            self._scoring_failed(exc, items)
        self.stats.duplicates = self.scorer.duplicates
        # rows the scorer would not take (out of time order for a time-aware detector) go to errors
        owners_of = {id(row): owners for row, owners in items}
        for row, reason in self.scorer.refused:
            payload = TelemetryCodec.encode_rows([(row.ts, row.values)])
            topic = Topics(site=row.site, root=self.topics.root).telemetry(row.asset)
            self._error(Rejected(reason, topic, payload), *owners_of.get(id(row), ()))
        grouped: dict[tuple[str, str], tuple[list[dict], dict[int, Delivery]]] = {}
        for (row, owners), prediction in zip(items, predictions):
            if prediction is not None:
                found = grouped.setdefault((row.site, row.asset), ([], {}))
                found[0].append(prediction)
                found[1].update((id(d), d) for d in owners)
        self._publish_predictions(grouped)

    def _scoring_failed(self, exc: Exception, items: list[tuple[TelemetryRow, tuple[Delivery, ...]]]) -> None:
        """Every row of a batch the detector failed on goes to errors, with the exception."""
        for row, owners in items:
            payload = TelemetryCodec.encode_rows([(row.ts, row.values)])
            topic = Topics(site=row.site, root=self.topics.root).telemetry(row.asset)
            self._error(Rejected(f"scoring failed: {type(exc).__name__}: {exc}", topic, payload), *owners)

    def _publish_predictions(self, grouped: dict[tuple[str, str], tuple[list[dict], dict[int, Delivery]]]) -> None:
        # one prediction message per asset per scoring batch: a message per row would cost a paho
        # publish (~80 us) per row
        for (site, asset), (mine, owners) in grouped.items():
            out = Topics(site=site, root=self.topics.root).prediction(asset)
            # each piece waits for all the batch's owners: a message is acknowledged once every piece is
            for at in range(0, len(mine), MAX_PREDICTIONS_PER_MESSAGE):
                piece = mine[at:at + MAX_PREDICTIONS_PER_MESSAGE]
                self._send(out, encode_predictions(piece, batch=len(piece) > 1), *owners.values())
            self.stats.predictions += len(mine)

    def _ack_idle(self, deliveries) -> None:
        """Acknowledge received messages that wait for nothing (only repeats, or only errors already settled)."""
        for delivery in self._acks.idle(deliveries):
            self._ack(delivery)

    def run(self, stop: threading.Event | None = None, *, until=None) -> ServiceStats:
        """Serve until ``stop`` is set or ``until(stats)`` returns True; then leave cleanly."""
        stop = stop or threading.Event()
        self._net = net = NetworkLoop(
            self._client,
            self.broker,
            keepalive=30,
            clean_start=False,
            properties=connect_properties(session_expiry_s=self.session_expiry_s, receive_maximum=self.receive_maximum),
            on_connect_fail=lambda: self._on_connect_fail(self._client, None),
        )
        net.start()
        try:
            with serving_gc(self.tune_gc), compute_threads_held():
                while not stop.is_set():
                    # read what arrived (without waiting when work is queued), then score it
                    self._seen_inbox = len(self._inbox)
                    net.step(0.0 if self._inbox else 0.05, more=self._room)
                    self._settle()
                    if self._inbox:
                        self.handle(self._take())
                    elif self.assembler is not None:
                        self._advance_by_wall_clock()
                    if until is not None and until(self.stats):
                        break
        finally:
            self._leave()
        return self.stats

    def _leave(self, grace_s: float = 5.0) -> None:
        """Publish the death message ourselves (a clean disconnect does not fire the will), flush, stop."""
        net = self._net
        say_goodbye(self._client, self.presence_topic, self._presence("offline"), connected=self.connected,
                    pending=lambda: self._acks.waiting, settle=self._settle, grace_s=grace_s,
                    wait=net.step if net is not None else time.sleep)
