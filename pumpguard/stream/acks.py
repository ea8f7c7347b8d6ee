"""When a received message may be acknowledged: once the broker has acknowledged all it produced.

This is the at-least-once guarantee of ``pumpguard serve`` (pure bookkeeping, no sockets): each
received telemetry message is a :class:`Delivery`; every prediction, error or quality message
published for it adds one to its ``outstanding`` count, and the broker's PUBACK of that output takes
one off. A delivery with nothing outstanding (and not held by a row still being assembled from node
readings) is ready to be acknowledged; until then a crash leaves it unacknowledged and the broker
delivers it again.

Examples
--------
>>> book = Acknowledgements()
>>> a, b = Delivery(mid=1, qos=1, generation=1), Delivery(mid=2, qos=1, generation=1)
>>> book.sent(10, a, b); book.sent(11, b)     # one grouped prediction for both, an error for b
>>> book.published(10); book.settle()
[Delivery(mid=1, qos=1, generation=1, outstanding=0, held=False)]
>>> book.published(11); [d.mid for d in book.settle()], book.waiting
([2], False)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class Delivery:
    """One received telemetry message waiting for its outputs to be acknowledged by the broker."""

    mid: int
    qos: int
    generation: int
    outstanding: int = 0
    #: a node reading inside a row that is not complete yet
    held: bool = False


class Acknowledgements:
    """Outputs sent and not yet acknowledged by the broker, and the deliveries waiting for them."""

    def __init__(self) -> None:
        #: publish mid -> the received messages waiting for it (a grouped prediction answers many)
        self._pending: dict[int, list[Delivery]] = {}
        self._published: deque[int] = deque()

    @property
    def waiting(self) -> bool:
        """Some output is not acknowledged by the broker yet."""
        return bool(self._pending)

    def sent(self, mid: int, *deliveries: Delivery) -> None:
        """An output (publish ``mid``) was published for ``deliveries``."""
        for delivery in deliveries:
            delivery.outstanding += 1
        self._pending[mid] = list(deliveries)

    def published(self, mid: int) -> None:
        """The broker acknowledged publish ``mid`` (paho's ``on_publish``)."""
        self._published.append(mid)

    def settle(self) -> list[Delivery]:
        """The deliveries whose last outstanding output the broker has now acknowledged."""
        ready = []
        while self._published:
            for delivery in self._pending.pop(self._published.popleft(), ()):
                delivery.outstanding -= 1
                if delivery.outstanding == 0:
                    ready.append(delivery)
        return ready

    @staticmethod
    def idle(deliveries: Iterable[Delivery]) -> list[Delivery]:
        """Of ``deliveries``, those that wait for nothing (only repeats, or outputs already settled)."""
        return [d for d in deliveries if d.outstanding == 0 and not d.held]
