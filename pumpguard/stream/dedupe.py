"""Which rows were already predicted: the ``(site, asset, ts)`` memory that removes redeliveries.

A QoS 1 broker delivers again what was not acknowledged before a reconnect, so a row may arrive
twice; the scorer predicts it once. The memory is bounded (the newest ``limit`` rows) and kept per
asset, so a block of one asset's rows -- usually later than anything seen, in time order -- is
checked in a pass or two in C rather than with a look-up per row.
"""

from __future__ import annotations

import operator
from collections import deque
from itertools import repeat
from typing import Any, Sequence


class SeenRows:
    """The ``(site, asset, ts)`` of rows already predicted, the newest ``limit`` of them.

    One dict of times per asset, so a block of one asset's rows is checked with set operations in
    C; the oldest insertions are forgotten first.

    Examples
    --------
    >>> seen = SeenRows(limit=3)
    >>> seen.fresh("s", "p", [1, 2, 2]), seen.fresh("s", "p", [2, 3]), seen.first_time("s", "q", 2)
    ([0, 1], [1], True)
    >>> seen.first_time("s", "p", 4), len(seen), seen.first_time("s", "p", 1)   # 1 was forgotten
    (True, 3, True)
    >>> seen.fresh("s", "p", [5, 6]), seen.fresh("s", "p", [6, 7])   # after the latest: no look-up; then a repeat
    ([0, 1], [1])
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self._by_asset: dict[tuple[str, str], dict] = {}
        #: the latest time seen per asset: a block wholly after it needs no look-up
        self._latest: dict[tuple[str, str], Any] = {}
        self._order: deque[tuple[dict, Sequence]] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def first_time(self, site: str, asset: str, ts: Any) -> bool:
        times = self._by_asset.setdefault((site, asset), {})
        if ts in times:
            return False
        times[ts] = None
        self._note_latest((site, asset), ts)
        self._remember(times, (ts,))
        return True

    def fresh(self, site: str, asset: str, stamps: Sequence) -> list[int]:
        """Indexes of ``stamps`` not seen before (nor earlier in ``stamps``); remembers them."""
        key = (site, asset)
        times = self._by_asset.setdefault(key, {})
        latest = self._latest.get(key)
        if stamps and (latest is None or stamps[0] > latest) and all(map(operator.lt, stamps, stamps[1:])):
            # the usual block: later than anything seen for the asset and in time order, so all new
            # without a look-up (one pass in C to check, one to remember)
            times.update(zip(stamps, repeat(None)))
            self._latest[key] = stamps[-1]
            self._remember(times, stamps)
            return list(range(len(stamps)))
        new = dict.fromkeys(stamps)
        if len(new) == len(stamps) and times.keys().isdisjoint(new):  # all new, though not in order
            times.update(new)
            self._note_latest(key, max(stamps))
            self._remember(times, stamps)
            return list(range(len(stamps)))
        fresh = []
        for i, ts in enumerate(stamps):
            if ts not in times:
                times[ts] = None
                fresh.append(i)
        if fresh:
            self._note_latest(key, max(stamps[i] for i in fresh))
        self._remember(times, [stamps[i] for i in fresh])
        return fresh

    def _note_latest(self, key: tuple[str, str], ts: Any) -> None:
        latest = self._latest.get(key)
        if latest is None or ts > latest:
            self._latest[key] = ts

    def forget(self, site: str, asset: str, ts: Any) -> None:
        if self._by_asset.get((site, asset), {}).pop(ts, _MISSING) is not _MISSING:
            self._count -= 1

    def _remember(self, times: dict, stamps: Sequence) -> None:
        if not stamps:
            return
        self._order.append((times, stamps))
        self._count += len(stamps)
        while self._count > self.limit and self._order:
            old, gone = self._order.popleft()
            for ts in gone:
                if old.pop(ts, _MISSING) is not _MISSING:
                    self._count -= 1


_MISSING = object()
