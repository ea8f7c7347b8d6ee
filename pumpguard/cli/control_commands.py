"""``pumpguard controller`` (the network's state machine on live predictions) and ``pumpguard archive``
(telemetry and predictions to day-partitioned Parquet for retraining). Thin."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

import typer

from pumpguard.cli._common import err_console, user_errors
from pumpguard.errors import ConfigError

BROKER_HELP = "Broker URL: mqtt://[user:password@]host[:port], mqtts:// for TLS."


def register(app: typer.Typer) -> None:
    """Add the controller command to ``app``."""
    app.command("controller")(controller)
    app.command("archive")(archive)


def _read_sensors(path: Path):
    from pumpguard.data.schema import Sensor

    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--sensors {str(path)!r}: cannot read it as JSON ({exc}); give the sensors.json that "
                          "`pumpguard simulate` writes") from None
    rows = body.get("sensors") if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in rows):
        raise ConfigError(f"--sensors {str(path)!r}: expected {{\"sensors\": [{{\"id\", \"kind\", \"element\", ...}}]}}")
    return [Sensor.from_dict(r) for r in rows]


def controller(
    broker: str = typer.Option(..., "--broker", help=BROKER_HELP),
    site: str = typer.Option("site1", "--site", help="The site whose predictions drive this controller."),
    network: str | None = typer.Option(
        None, "--network", help="Network name (pumpguard, Net3, ...) or EPANET .inp file: isolation plan and localisation."),
    sensors: Path | None = typer.Option(
        None, "--sensors", help="sensors.json (id, kind, element of each sensor): localise anomalies on --network."),
    asset: str | None = typer.Option(None, "--asset", help="Follow one asset's predictions only (default: every asset)."),
    debounce: int = typer.Option(3, "--debounce", min=1, help="Consecutive anomalous predictions that confirm an alarm."),
    require_ack: bool = typer.Option(False, "--require-ack", help="Hold an alarm until an operator acknowledges it."),
    client_id: str | None = typer.Option(None, "--client-id", help="Stable id: its session keeps predictions while it is down."),
    fresh: bool = typer.Option(False, "--fresh", help="Start in NORMAL instead of restoring the retained state."),
    protocol: str = typer.Option("5", "--mqtt", help="MQTT protocol version: 5, or 3.1.1 for older brokers."),
    ca_file: Path | None = typer.Option(None, "--ca", help="CA certificate for mqtts:// (default: the system's)."),
    root: str = typer.Option("pumpguard", "--root", help="Topic root."),
    verbose: bool = typer.Option(True, "--verbose/--quiet", help="Log connections and every transition."),
) -> None:
    """Run the controller state machine on the site's live predictions.

    Publishes each transition on <root>/v1/<site>/controller/event, its valve and pump actions on
    .../controller/command and its state (retained) on .../controller/state; after a restart it
    continues from the retained state. Operators send JSON commands to .../controller/operator:
    {"command": "acknowledge", "alarm_id": "A-0001", "by": "anna"}, {"command": "force", "state":
    "NORMAL", "reason": "...", "by": "anna"}, {"command": "repaired", "by": "crew-2"}. Bad ones go
    to .../errors with the reason.

    Example: pumpguard controller --broker mqtt://localhost:1883 --site plant1 --network pumpguard --sensors sim/sensors.json
    """
    with user_errors():
        from pumpguard.network.controller import ControllerConfig
        from pumpguard.stream.codec import Topics
        from pumpguard.stream.control_codec import Localiser, operator_topic
        from pumpguard.stream.controller_service import PROTOCOLS, ControllerService
        from pumpguard.stream.mqtt import Broker

        for value, what in ((site, "site"), (asset, "asset")):
            if value is not None and (not value or any(c in value for c in "/+#")):
                raise ConfigError(f"--{what} {value!r}: expected one topic level without '/', '+' or '#'")
        if protocol not in PROTOCOLS:
            raise ConfigError(f"--mqtt {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        if sensors is not None and network is None:
            raise ConfigError("--sensors places sensors on a network: give --network too (e.g. --network pumpguard)")
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
        plan = localiser = None
        if network is not None:
            from pumpguard.network.isolation import build_isolation_plan
            from pumpguard.network.topology import load_network

            wn = load_network(network)
            plan = build_isolation_plan(wn)
            if sensors is not None:
                localiser = Localiser(_read_sensors(sensors), wn)
        address = Broker.from_url(broker, ca_file=str(ca_file) if ca_file else None)
        topics = Topics(site=site, root=root)
        service = ControllerService(
            address, topics=topics, plan=plan, localiser=localiser, asset=asset, client_id=client_id,
            config=ControllerConfig(debounce=debounce, require_acknowledge=require_ack),
            protocol=protocol, restore=not fresh,
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        err_console.print(
            f"controller for site {site} on {address.host}:{address.port} as {service.client_id} "
            f"({'isolation plan of ' + network if plan else 'no network: no valve actions'}"
            f"{', localisation on' if localiser else ''}); operator commands on {operator_topic(topics.base)}; Ctrl-C stops",
            highlight=False, soft_wrap=True)
        stats = service.run(stop)
        err_console.print(
            f"stopped in {service.controller.state.value}: {stats.observations} observations, {stats.transitions} transitions, "
            f"{stats.commands} plant commands, {stats.operator_commands} operator commands, {stats.rejected} rejected",
            highlight=False, soft_wrap=True)


def archive(
    broker: str = typer.Option(..., "--broker", help=BROKER_HELP),
    out: Path = typer.Option(..., "--out", help="Archive directory (telemetry/ and predictions/ go under it)."),
    site: str = typer.Option("+", "--site", help="One site, or '+' (default) for every site."),
    client_id: str = typer.Option("pumpguard-archive", "--client-id", help="Stable id: its session keeps what arrives while it is down."),
    flush_rows: int = typer.Option(10_000, "--flush-rows", min=1, help="Write a file after this many rows."),
    flush_seconds: float = typer.Option(300.0, "--flush-seconds", min=0.1, help="Write a file at least this often."),
    ca_file: Path | None = typer.Option(None, "--ca", help="CA certificate for mqtts://."),
    root: str = typer.Option("pumpguard", "--root", help="Topic root."),
) -> None:
    """Record telemetry and predictions from the broker as Parquet partitioned by site, asset and day.

    Train on one asset's record later with `pumpguard train OUT/telemetry/site=S/asset=A`. Each file
    is written under a temporary name and then renamed: a crash never leaves a damaged file.

    Example: pumpguard archive --broker mqtt://localhost:1883 --out /var/lib/pumpguard/archive
    """
    with user_errors():
        from pumpguard.stream.archive import record
        from pumpguard.stream.codec import Topics
        from pumpguard.stream.mqtt import Broker

        if not site or "/" in site or "#" in site:
            raise ConfigError(f"--site {site!r}: expected one topic level (or '+')")
        address = Broker.from_url(broker, ca_file=str(ca_file) if ca_file else None)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        err_console.print(f"archiving {root}/v1/{site} from {address.host}:{address.port} to {out}; Ctrl-C stops",
                          highlight=False, soft_wrap=True)
        stats = record(address, out, topics=Topics(site=site, root=root), stop=stop, client_id=client_id,
                       flush_rows=flush_rows, flush_seconds=flush_seconds)
        err_console.print(f"stopped: {stats.telemetry_rows} telemetry rows, {stats.predictions} predictions archived, "
                          f"{stats.refused} refused", highlight=False, soft_wrap=True)
