"""The live controller's handling of one site's messages: predictions and operator commands in,
messages to publish out (pure: no sockets, no threads; the clock only stamps what it publishes).

:class:`ControllerHandler` steps :class:`~pumpguard.network.controller.Controller` on each
prediction (in time order within a batch, each ``asset@ts`` once, see
:data:`~pumpguard.stream.control_codec.RECENT_KEYS`), applies operator commands, and returns the
events, plant commands, rejections and -- last -- the state to publish. It restores itself from a
state payload. :class:`~pumpguard.stream.controller_service.ControllerService` runs it on MQTT.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import pandas as pd

from pumpguard.errors import ConfigError, PumpguardError
from pumpguard.network.controller import Controller, ControllerConfig, IsolationPlanLike
from pumpguard.stream.codec import Rejected, Topics
from pumpguard.stream.control_codec import (
    RECENT_KEYS,
    Localiser,
    OperatorCommand,
    decode_state,
    encode_acknowledged,
    encode_actions,
    encode_state,
    encode_transition,
    observations_from_prediction,
    operator_topic,
    parse_operator_command,
    repair_observation,
)

log = logging.getLogger("pumpguard.stream.controller")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ControllerStats:
    predictions: int = 0
    observations: int = 0
    transitions: int = 0
    commands: int = 0
    operator_commands: int = 0
    rejected: int = 0
    duplicates: int = 0
    unscorable: int = 0
    connects: int = 0
    restored: bool = False
    started: float = field(default_factory=time.monotonic)


class ControllerHandler:
    """The controller of one site on a batch of messages (no I/O).

    ``handle(messages)`` takes the received ``[(topic, payload), ...]`` and returns the messages to
    publish ``[(topic, payload, retain)]``, the retained state last; ``restore_from(payload)``
    restores from such a state.

    Examples
    --------
    >>> handler = ControllerHandler(topics=Topics(site="p1"))
    >>> [(topic, retain) for topic, _, retain in handler.handle([])]
    [('pumpguard/v1/p1/controller/state', True)]
    >>> handler.controller.state.value
    'NORMAL'
    """

    def __init__(
        self,
        *,
        topics: Topics,
        plan: IsolationPlanLike | None = None,
        config: ControllerConfig = ControllerConfig(),
        localiser: Localiser | None = None,
        client_id: str | None = None,
        asset: str | None = None,
    ) -> None:
        if topics.site in ("+", "#", "") or "/" in topics.site:
            raise ConfigError(f"site {topics.site!r}: a controller runs one site; give its name (e.g. --site plant1)")
        self.topics = topics
        self.plan = plan
        self.config = config
        self.localiser = localiser
        self.client_id = client_id or f"pumpguard-controller-{topics.site}"
        self.asset = asset
        self.controller = Controller(plan, config)
        self.stats = ControllerStats()
        self.operator_topic = operator_topic(topics.base)
        self.prediction_filter = topics.prediction(asset or "+")
        self._recent: deque[str] = deque(maxlen=RECENT_KEYS)
        self._recent_set: set[str] = set()
        self._clock: pd.Timestamp | None = None

    def restore_from(self, payload: bytes) -> str | None:
        """Restore from a retained state payload; None on success, else the reason it was not used."""
        body = decode_state(payload)
        if isinstance(body, str):
            return body
        try:
            self.controller = Controller.restore(body["snapshot"], self.plan, self.config)
        except PumpguardError as exc:
            return f"retained state cannot be restored: {exc}"
        last = body["snapshot"].get("last_ts")
        self._clock = None if last is None else pd.Timestamp(last)
        for key in body.get("recent", [])[-RECENT_KEYS:]:
            self._remember(str(key))
        self.stats.restored = True
        return None

    @property
    def clock(self) -> pd.Timestamp | None:
        """The controller's time: the latest observation or command it took (data time)."""
        return self._clock

    def _tick(self, ts: pd.Timestamp) -> None:
        if self._clock is None or ts > self._clock:
            self._clock = ts

    def _remember(self, key: str) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(key)
        self._recent_set.add(key)

    def state_payload(self) -> bytes:
        return encode_state(self.controller, site=self.topics.site, recent=self._recent, updated=now_utc(),
                            client_id=self.client_id)

    def _error(self, reason: str, topic: str, payload: bytes) -> tuple[str, bytes, bool]:
        self.stats.rejected += 1
        return (self.topics.errors, Rejected(reason, topic, payload).to_error(received_at=now_utc()), False)

    def _publish_transitions(self, transitions, out: list, command_id: str | None = None) -> None:
        for tr in transitions:
            self.stats.transitions += 1
            out.append((self.topics.controller_event, encode_transition(tr, site=self.topics.site, command_id=command_id), False))
            actions = encode_actions(tr, site=self.topics.site, client_id=self.client_id)
            if actions is not None:
                self.stats.commands += 1
                out.append((self.topics.controller_command, actions, False))
            log.info("%s -> %s: %s", tr.from_state.value, tr.to_state.value, tr.reason)

    def _step_predictions(self, run: list[tuple[str, bytes]], out: list) -> None:
        keyed = []
        for topic, payload in run:
            parsed = self.topics.parse(topic)
            asset = parsed[2] if parsed else ""
            self.stats.predictions += 1
            read = observations_from_prediction(payload, asset=asset, localiser=self.localiser)
            self.stats.unscorable += read.unscorable
            for reason, raw in read.rejected:
                out.append(self._error(reason, topic, raw))
            keyed.extend((obs.ts, key, obs, topic) for key, obs in read.observations)
        # the assets of a site report independently: step in time order within what arrived together
        keyed.sort(key=lambda item: item[0])
        for ts, key, obs, topic in keyed:
            if key in self._recent_set:
                self.stats.duplicates += 1
                continue
            last = self.clock
            if last is not None and obs.ts < last:
                out.append(self._error(
                    f"prediction for {key} is earlier than the controller's clock ({last.isoformat()}): "
                    "late or out of order, not stepped on", topic, orjson.dumps(obs.to_dict())))
                continue
            self._remember(key)
            self._tick(obs.ts)
            self.stats.observations += 1
            self._publish_transitions(self.controller.step(obs), out)

    def _operator(self, topic: str, payload: bytes, out: list) -> None:
        command = parse_operator_command(payload)
        if isinstance(command, str):
            out.append(self._error(command, topic, payload))
            return
        last = self.clock
        ts = command.ts if command.ts is not None else (last if last is not None else pd.Timestamp.now(tz="UTC"))
        try:
            out.extend(self._apply_command(command, ts))
        except PumpguardError as exc:
            out.append(self._error(f"{command.command}: {exc}", topic, payload))
            return
        self._tick(ts)
        self.stats.operator_commands += 1

    def _apply_command(self, command: OperatorCommand, ts) -> list:
        out: list = []
        if command.command == "acknowledge":
            transitions = self.controller.acknowledge(command.alarm_id, by=command.by, ts=ts)
            out.append((self.topics.controller_event, encode_acknowledged(command, site=self.topics.site, ts=ts), False))
        elif command.command == "force":
            transitions = [self.controller.force(command.state, reason=command.reason, ts=ts, by=command.by,
                                                 suspected=command.suspected)]
        else:
            transitions = self.controller.step(repair_observation(command, ts))
        self._publish_transitions(transitions, out, command_id=command.id)
        return out

    def handle(self, messages: list[tuple[str, bytes]]) -> list[tuple[str, bytes, bool]]:
        """Step on a batch of received ``(topic, payload)``; the messages to publish, the state last."""
        out: list[tuple[str, bytes, bool]] = []
        run: list[tuple[str, bytes]] = []
        for topic, payload in messages:
            if topic == self.operator_topic:
                self._step_predictions(run, out)
                run = []
                self._operator(topic, payload, out)
            else:
                run.append((topic, payload))
        self._step_predictions(run, out)
        # transitions went out as events; a service that runs for months keeps no history in memory
        self.controller.history.clear()
        out.append((self.topics.controller_state, self.state_payload(), True))
        return out
