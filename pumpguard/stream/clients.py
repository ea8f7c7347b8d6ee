"""The client side of the study: replay a recorded table as telemetry, listen to what comes back.

``replay`` publishes at QoS 1 on a persistent session and keeps at most ``max_outstanding``
messages unacknowledged (the broker's pace sets ours: backpressure, not an unbounded buffer); it
returns only when the broker has acknowledged every message, across reconnects if need be.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from pumpguard.errors import ConfigError
from pumpguard.stream.codec import TelemetryCodec, Topics, decode_object
from pumpguard.stream.connection import DEFAULT_SESSION_EXPIRY_S, Broker, NetworkLoop, connect_properties, make_client

log = logging.getLogger("pumpguard.stream")

#: Messages sent but not yet acknowledged: at 1,000 the publisher spent most of its time waiting
#: for PUBACKs; 10,000 single-row messages are ~15 MB, still bounded.
DEFAULT_MAX_OUTSTANDING = 10_000
#: Messages published between two reads of the broker's acknowledgements (a read is one select()).
REPLAY_READ_EVERY = 16


@dataclass
class ReplayStats:
    rows: int = 0
    messages: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def telemetry_batches(frame: pd.DataFrame, batch: int) -> Iterator[tuple[pd.Timestamp, bytes]]:
    """``(first ts as a datetime, payload)`` for each message of ``batch`` rows of a frame in the data contract.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=3, freq="min", tz="UTC", name="timestamp")
    >>> frame = pd.DataFrame({"sensor_00": [1.0, np.nan, 3.0]}, index=idx)
    >>> [p for _, p in telemetry_batches(frame, 2)][1]
    b'{"ts":"2018-04-01T00:02:00Z","values":{"sensor_00":3.0}}'
    """
    if batch < 1:
        raise ConfigError(f"batch={batch}: expected at least 1 row per message")
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
        raise ConfigError("replay needs a frame with a UTC DatetimeIndex (the data contract); read the file with pumpguard's reader")
    columns = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype="float64", na_value=np.nan)
    times = frame.index.tz_convert("UTC").to_pydatetime()
    for start in range(0, len(frame), batch):
        stop = min(start + batch, len(frame))
        rows = [(ts, dict(zip(columns, line))) for ts, line in zip(times[start:stop], values[start:stop].tolist())]
        yield times[start], TelemetryCodec.encode_rows(rows)


def replay(
    frame: pd.DataFrame,
    broker: Broker,
    *,
    topics: Topics,
    asset: str,
    rate: float | None = None,
    speed: float | None = None,
    batch: int = 1,
    client_id: str | None = None,
    max_outstanding: int = DEFAULT_MAX_OUTSTANDING,
    timeout_s: float = 600.0,
    prepare: bool = False,
) -> ReplayStats:
    """Publish ``frame`` (sensor columns only) as telemetry of ``asset``.

    ``rate``: rows per second; ``speed``: multiple of real time from the timestamps (60 replays a
    minute-sampled record at one row a second); neither: as fast as the broker acknowledges.
    ``prepare``: encode every message before the first is sent (~1.7 KB of memory a row), so the
    sending is not held back by the encoding (~10 us a row). ``seconds`` in the result counts from
    the first message sent to the last acknowledgement.
    """
    if rate is not None and speed is not None:
        raise ConfigError("give --rate or --speed, not both")
    if (rate is not None and rate <= 0) or (speed is not None and speed <= 0):
        raise ConfigError("--rate and --speed must be positive")
    if "/" in asset or "+" in asset or "#" in asset or not asset:
        raise ConfigError(f"asset {asset!r}: expected a name without '/', '+' or '#'")
    client_id = client_id or f"pumpguard-replay-{asset}"
    client = make_client(client_id, broker)
    client.max_inflight_messages_set(max(1, int(max_outstanding)))  # paho would queue beyond its own window
    acked = [0]

    def on_publish(c, u, mid, rc, props):
        acked[0] += 1

    connected = threading.Event()
    client.on_publish = on_publish
    client.on_disconnect = lambda c, u, f, rc, p: connected.clear()
    # the network runs in this thread (NetworkLoop): with paho's own thread one client sent ~1,800
    # messages/s here, from this thread ~8,000-11,000
    net = NetworkLoop(client, broker, keepalive=30, clean_start=False,
                      properties=connect_properties(session_expiry_s=DEFAULT_SESSION_EXPIRY_S))
    client.on_connect = lambda c, u, f, rc, p: (connected.set(), net.connected()) if not rc.is_failure else None
    net.start()
    stats = ReplayStats()
    topic = topics.telemetry(asset)
    messages = telemetry_batches(frame, batch)
    if prepare:
        messages = list(messages)
    deadline = time.monotonic() + timeout_s

    def waited_too_long() -> None:
        if time.monotonic() > deadline:
            raise ConfigError(f"the broker acknowledged only {acked[0]} of {stats.messages} messages in {timeout_s:.0f} s")

    try:
        connect_by = time.monotonic() + min(30.0, timeout_s)
        while not connected.is_set():
            if time.monotonic() > connect_by:
                raise ConfigError(f"cannot reach the broker at {broker.host}:{broker.port} (waited 30 s); is it running?")
            net.step(0.05)
        t_wall = time.monotonic()  # the clock of the rate, and of ``seconds``, starts at the first send
        t_data0 = frame.index[0].to_pydatetime() if len(frame) else None
        for first_ts, payload in messages:
            if rate is not None:
                due = t_wall + stats.rows / rate
            elif speed is not None:
                due = t_wall + (first_ts - t_data0).total_seconds() / speed
            else:
                due = None
            while due is not None and (pause := due - time.monotonic()) > 0:
                net.step(min(pause, 0.05))  # acknowledgements and keep-alive while waiting
            while stats.messages - acked[0] >= max_outstanding:
                waited_too_long()
                net.step(0.01)
            client.publish(topic, payload, qos=1)  # written at once when connected, else kept by paho
            stats.messages += 1
            stats.rows += min(batch, len(frame) - stats.rows)
            if stats.messages % REPLAY_READ_EVERY == 0:
                net.step(0.0)  # take in the acknowledgements that arrived meanwhile
        while acked[0] < stats.messages:
            waited_too_long()
            net.step(0.01)
        stats.seconds = time.monotonic() - t_wall
    finally:
        client.disconnect()
    return stats


def listen(
    broker: Broker,
    *,
    topics: Topics,
    on_message: Callable[[str, str, object], None],
    stop: threading.Event,
    client_id: str | None = None,
    kinds: tuple[str, ...] = ("prediction", "quality", "errors", "controller/state", "controller/event", "controller/command", "service"),
    ready: threading.Event | None = None,
    persistent: bool = False,
) -> None:
    """Call ``on_message(kind, topic, decoded JSON)`` for predictions, data quality, errors, controller and presence
    messages until ``stop`` is set. By default a clean session (a listener shows what happens from
    now on); ``persistent=True`` with a fixed ``client_id`` misses nothing across broker restarts."""
    if persistent and not client_id:
        raise ConfigError("a persistent listener needs a fixed client id")
    client = make_client(client_id or "", broker)
    filters = {
        "prediction": topics.prediction("+"),
        "quality": topics.quality("+"),
        "errors": topics.errors,
        "controller/state": topics.controller_state,
        "controller/event": topics.controller_event,
        "controller/command": topics.controller_command,
        "service": topics.presence("+"),
    }

    def on_connect(c, u, f, rc, p):
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            return
        c.subscribe([(filters[k], 1) for k in kinds])

    def on_subscribe(c, u, mid, codes, p):
        if ready is not None:
            ready.set()

    def deliver(c, u, message):
        parsed = topics.parse(message.topic)
        kind = parsed[0] if parsed else "?"
        on_message(kind, message.topic, decode_object(message.payload))

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = deliver
    client.connect_async(
        broker.host, broker.port, keepalive=30, clean_start=not persistent,
        properties=connect_properties(session_expiry_s=DEFAULT_SESSION_EXPIRY_S if persistent else 0),
    )
    client.loop_start()
    try:
        stop.wait()
    finally:
        client.disconnect()
        client.loop_stop()
