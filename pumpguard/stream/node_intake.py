"""Rows from per-node readings inside the scoring service: the service's side of the assembler.

The study's pressure nodes each send one reading (``<root>/v1/<site>/node/<node_id>``); the
:class:`~pumpguard.stream.assembler.RowAssembler` joins them into rows. This mixin is how
:class:`~pumpguard.stream.mqtt.ScoringService` feeds it and keeps the delivery guarantee: a reading
is acknowledged only once the row it joined has been predicted, so a crash before that has the
broker deliver it again; late, unknown and missing nodes go to the ``quality`` topic.

The host class provides ``assembler``, ``codec``, ``topics``, ``stats``, ``_client``, ``_clock``,
``_row_owners`` and the methods ``_send``, ``_error``, ``_score_and_publish`` and ``_ack_idle``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pumpguard.stream.acks import Delivery
from pumpguard.stream.assembler import DataQualityEvent
from pumpguard.stream.codec import Rejected, TelemetryRow, Topics, encode_object


class NodeIntake:
    """Readings of single nodes in, assembled rows out (a mixin of the scoring service)."""

    def _take_node(self, topic: str, payload: bytes, delivery: Delivery, items: list) -> None:
        reading = self.codec.decode_node(topic, payload)
        if isinstance(reading, Rejected):
            self._error(reading, delivery)
            return
        assembler = self.assembler
        rows, events = assembler.add(reading)
        self._clock = (assembler.watermark, time.monotonic())
        refused = [e for e in events if e.kind != "missing"]  # about this reading: it joined no row
        for event in events:
            self._quality(event, delivery if event in refused else None)
        binding = assembler.nodes.get(reading.node_id)
        if not refused and binding is not None:
            # acknowledged only once the row it joined is predicted: a crash before that redelivers it
            delivery.held = True
            self._row_owners.setdefault((reading.site, binding.asset, assembler.slot(reading.ts)), []).append(delivery)
        items.extend((row, self._release(row)) for row in rows)

    def _release(self, row: TelemetryRow) -> tuple[Delivery, ...]:
        owners = self._row_owners.pop((row.site, row.asset, row.ts), [])
        for delivery in owners:
            delivery.held = False
        return tuple(owners)

    def _quality(self, event: DataQualityEvent, delivery: Delivery | None) -> None:
        self.stats.quality_events += 1
        topic = Topics(site=event.site, root=self.topics.root).quality(event.asset or "_unknown")
        payload = encode_object(event.to_payload())
        if delivery is None:
            self._client.publish(topic, payload, qos=1)
        else:
            self._send(topic, payload, delivery)

    def _advance_by_wall_clock(self) -> None:
        """Close rows whose nodes went silent: the readings' clock moved on by the wall time since."""
        if self.assembler is None or self._clock is None or not self.assembler.open_rows:
            return
        watermark, at = self._clock
        rows, events = self.assembler.advance(watermark + timedelta(seconds=time.monotonic() - at))
        for event in events:
            self._quality(event, None)
        if rows:
            items = [(row, self._release(row)) for row in rows]
            self._score_and_publish(items)
            self._ack_idle(d for _, owners in items for d in owners)
