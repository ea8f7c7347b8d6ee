"""An MQTT broker for ``pumpguard demo`` when none is installed: rumqttd, compiled into the ``iotcore`` wheel.

Why this one (measured here, see ``docs/broker.md``): it speaks MQTT 3.1.1 *and* 5 (pumpguard's
services use MQTT 5 sessions, manual acknowledgement and shared subscriptions), it delivered a
retained message exactly once to a late subscriber, queued QoS 1 messages for an offline persistent
session, and it needs no Python dependency. amqtt 0.12 refuses MQTT 5, ignores shared
subscriptions and delivered a retained message twice.

rumqttd has no shutdown call, so iotcore runs it in a child process of this one (the same program,
``python -c``; nothing to install) which exits by itself if this process dies. The handle keeps a
named watcher thread on it and :meth:`EmbeddedBroker.stop` ends it and frees the ports.

Two listeners on 127.0.0.1: MQTT 5 on ``url`` (for ``serve``, ``controller``, ``replay``) and MQTT
3.1.1 on ``url_v311`` (for older clients and devices); both share one router, so a message
published on one reaches subscribers on the other. Sessions live in memory only: the demo starts
fresh each time (the controller's restore-from-retained is for a real broker; see ``docs/broker.md``).
"""

from __future__ import annotations

import atexit
import logging
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pumpguard.errors import ConfigError

log = logging.getLogger("pumpguard.stream.broker")

#: Same limit as the codec's DEFAULT_MAX_PAYLOAD_BYTES (1 MiB) plus room for the topic and headers.
MAX_PAYLOAD_BYTES = (1 << 20) + 4096
#: Unacknowledged QoS 1 messages per client; covers the service's Receive Maximum of 2,000.
MAX_INFLIGHT = 2_000

_CONFIG = """\
id = 0

[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = {inflight}
max_segment_size = 104857600
max_segment_count = 10

[v5.1]
name = "mqtt5"
listen = "{host}:{port5}"
next_connection_delay_ms = 1
    [v5.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = {payload}
    max_inflight_count = {inflight}

[v4.1]
name = "mqtt311"
listen = "{host}:{port4}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = {payload}
    max_inflight_count = {inflight}
    dynamic_filters = true
"""


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedBroker:
    """A running embedded broker: ``url`` (MQTT 5), ``url_v311`` (MQTT 3.1.1), ``stop()``.

    Examples
    --------
    >>> broker = start_embedded_broker()
    >>> broker.url.startswith("mqtt://127.0.0.1:"), broker.running
    (True, True)
    >>> broker.stop(); broker.running
    False
    """

    host: str
    port: int
    port_v311: int
    _broker: object = field(repr=False)
    _folder: tempfile.TemporaryDirectory = field(repr=False)
    _watcher: threading.Thread | None = field(default=None, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def url_v311(self) -> str:
        return f"mqtt://{self.host}:{self.port_v311}"

    @property
    def running(self) -> bool:
        return bool(self._broker.is_running)

    def _watch(self) -> None:
        process = self._broker._process
        if process is None:
            return
        code = process.wait()
        if not self._stopping.is_set():
            log.error("the embedded broker on %s exited unexpectedly (code %s)", self.url, code)

    def stop(self) -> None:
        """Stop the broker and free its ports; safe to call twice."""
        self._stopping.set()
        self._broker.stop()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)
        self._folder.cleanup()

    def __enter__(self) -> "EmbeddedBroker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_broker(host: str = "127.0.0.1", port: int = 0, *, port_v311: int = 0,
                          timeout_s: float = 10.0) -> EmbeddedBroker:
    """Start a broker on ``host`` (MQTT 5 on ``port``, 3.1.1 on ``port_v311``; 0 = a free port).

    Raises :class:`~pumpguard.errors.ConfigError` when a port is taken or the broker does not come up.
    """
    try:
        from iotcore import Broker
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError("the embedded broker needs the iotcore package: pip install 'iotcore>=0.4', "
                          "or give --broker URL of a running broker") from None
    port = int(port) or _free_port(host)
    port_v311 = int(port_v311) or _free_port(host)
    if port == port_v311:
        raise ConfigError(f"the embedded broker needs two ports (MQTT 5 and 3.1.1), got {port} twice")
    folder = tempfile.TemporaryDirectory(prefix="pumpguard-broker-")
    config = Path(folder.name) / "rumqttd.toml"
    config.write_text(_CONFIG.format(host=host, port5=port, port4=port_v311, payload=MAX_PAYLOAD_BYTES,
                                     inflight=MAX_INFLIGHT))
    broker = Broker(config_path=str(config))
    try:
        broker.start(timeout=timeout_s)
    except (OSError, RuntimeError) as exc:
        folder.cleanup()
        raise ConfigError(f"the embedded broker could not listen on {host}:{port} and {host}:{port_v311}: {exc}; "
                          "choose other ports or give --broker URL of a running broker") from None
    handle = EmbeddedBroker(host=host, port=port, port_v311=port_v311, _broker=broker, _folder=folder)
    handle._watcher = threading.Thread(target=handle._watch, name=f"pumpguard-embedded-broker-{port}", daemon=True)
    handle._watcher.start()
    # iotcore stops its child at exit; that exit is expected (atexit runs this before iotcore's stop)
    atexit.register(handle._stopping.set)
    log.info("embedded broker: MQTT 5 on %s, MQTT 3.1.1 on %s", handle.url, handle.url_v311)
    return handle
