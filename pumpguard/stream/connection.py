"""Connecting to a broker: the URL, a paho MQTT 5 client with TLS, credentials, TCP_NODELAY and
reconnect backoff, the CONNECT properties of a persistent session, and the goodbye on leaving."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from pumpguard.errors import ConfigError

#: A day: a service restarted within a day gets every message that arrived meanwhile.
DEFAULT_SESSION_EXPIRY_S = 86_400
#: Reconnect backoff, seconds: first retry soon (a broker restart takes a second), then doubling.
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
#: The MQTT versions :func:`make_client` speaks.
PROTOCOLS = ("5", "3.1.1")


@dataclass(frozen=True)
class Broker:
    """Where the broker is: ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://`` for TLS.

    Examples
    --------
    >>> Broker.from_url("mqtts://svc:s3cret@broker.plant:8884")
    Broker(host='broker.plant', port=8884, tls=True, username='svc', password='s3cret', ca_file=None)
    >>> Broker.from_url("localhost").port
    1883
    """

    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, *, ca_file: str | None = None) -> "Broker":
        text = url if "://" in url else f"mqtt://{url}"
        parts = urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ConfigError(f"broker URL {url!r}: scheme {parts.scheme!r} is not mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ConfigError(f"broker URL {url!r}: the port is not a number, expected e.g. mqtt://localhost:1883") from None
        if not parts.hostname:
            raise ConfigError(f"broker URL {url!r}: no host, expected e.g. mqtt://localhost:1883")
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca_file=ca_file,
        )


def _nodelay(client, userdata, sock) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # a websocket or TLS wrapper without the option
        pass


def make_client(
    client_id: str,
    broker: Broker,
    *,
    manual_ack: bool = False,
    will: tuple[str, bytes] | None = None,
    protocol: str = "5",
) -> paho.Client:
    """A paho client with TCP_NODELAY, TLS and credentials from ``broker``, backoff set.

    ``protocol`` is ``"5"`` (MQTT 5: the session is kept by the CONNECT properties) or ``"3.1.1"``
    (a persistent session: ``clean_session=False``).
    """
    if protocol == "5":
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, manual_ack=manual_ack
        )
    elif protocol == "3.1.1":
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311, clean_session=False,
            manual_ack=manual_ack,
        )
    else:
        raise ConfigError(f"MQTT protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    client.on_socket_open = _nodelay
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    # paho's own limit of 20 unacknowledged publishes would cap throughput at ~20 round trips
    client.max_inflight_messages_set(1_000)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        context = ssl.create_default_context(cafile=broker.ca_file)
        client.tls_set_context(context)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    return client


def connect_properties(*, session_expiry_s: int, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = int(session_expiry_s)
    if receive_maximum:
        props.ReceiveMaximum = int(receive_maximum)
    return props


class NetworkLoop:
    """A paho client's network loop run from the caller's own thread, reconnecting with backoff.

    paho's own thread (``loop_start``) costs a hand-over of the GIL for every packet: each publish
    and each acknowledgement wakes that thread, and the two threads take turns several times a
    message. Measured here, one paho client publishing 1.5 KB QoS 1 messages to Mosquitto on
    127.0.0.1: ~1,800 messages/s with paho's thread against ~8,000-11,000 from one thread (the same
    payloads, the same run). So the busy clients -- ``serve`` and ``replay`` -- run the network
    from their own loop: :meth:`step` reads what arrived (callbacks fire here), writes what is
    waiting and keeps the connection alive, and reconnects when the broker went away (first try
    after ``RECONNECT_MIN_S``, doubling up to ``RECONNECT_MAX_S``). A publish made outside a
    callback is written at once. Tested against a real Mosquitto in ``tests/stream``.
    """

    def __init__(
        self,
        client: paho.Client,
        broker: Broker,
        *,
        keepalive: int = 30,
        clean_start: bool | int = paho.MQTT_CLEAN_START_FIRST_ONLY,
        properties: Properties | None = None,
        on_connect_fail: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.broker = broker
        self._connect = dict(keepalive=keepalive, clean_start=clean_start, properties=properties)
        self._on_connect_fail = on_connect_fail
        self._delay = float(RECONNECT_MIN_S)
        self._due = 0.0  # when to try (again) to connect; 0: now

    def start(self) -> None:
        """Remember where to connect; the first attempt is made by the first :meth:`step`."""
        self.client.connect_async(self.broker.host, self.broker.port, **self._connect)

    def connected(self) -> None:
        """The broker accepted us (call from ``on_connect``): the next loss retries soon again."""
        self._delay = float(RECONNECT_MIN_S)

    def _retry_later(self) -> None:
        """The next attempt after the current delay, which doubles up to ``RECONNECT_MAX_S``."""
        self._due = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, float(RECONNECT_MAX_S))

    def step(self, timeout: float, *, more: Callable[[], bool] | None = None) -> None:
        """Wait up to ``timeout`` s for network traffic and handle it. While ``more()`` is true,
        keep reading what has already arrived (``more`` says whether the last read brought
        anything the caller wants more of)."""
        client = self.client
        if client.socket() is None:
            now = time.monotonic()
            if now < self._due:
                time.sleep(min(timeout, self._due - now))
                return
            try:
                client.reconnect()
            except OSError:
                self._retry_later()
                if self._on_connect_fail is not None:
                    self._on_connect_fail()
                return
        if client.loop(timeout=timeout) != paho.MQTT_ERR_SUCCESS:
            self._retry_later()  # lost (paho closed the socket and told on_disconnect)
            return
        while more is not None and client.socket() is not None and more():
            if client.loop_read() != paho.MQTT_ERR_SUCCESS:
                break


def say_goodbye(
    client: paho.Client,
    presence_topic: str,
    payload: bytes,
    *,
    connected: threading.Event,
    pending: Callable[[], bool],
    settle: Callable[[], None],
    grace_s: float = 5.0,
    wait: Callable[[float], object] = time.sleep,
) -> None:
    """Leave cleanly: publish the retained offline presence ourselves (a clean disconnect does not
    fire the will), ``settle()`` while ``pending()`` and still connected for up to ``grace_s``,
    wait for the goodbye's acknowledgement within the same time, disconnect and stop the loop.
    ``wait(seconds)``: how to let time pass (a client without paho's thread runs its network
    loop, :meth:`NetworkLoop.step`)."""
    farewell = None
    if connected.is_set():
        farewell = client.publish(presence_topic, payload, qos=1, retain=True)
    deadline = time.monotonic() + grace_s
    while pending() and connected.is_set() and time.monotonic() < deadline:
        settle()
        wait(0.01)
    settle()
    if farewell is not None:
        try:
            while not farewell.is_published() and connected.is_set() and time.monotonic() < deadline:
                wait(0.01)
        except (RuntimeError, ValueError):  # the connection went while saying goodbye: the will says it
            pass
    client.disconnect()
    client.loop_stop()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
