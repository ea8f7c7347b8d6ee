"""``pumpguard api``: serve the HTTP API and the live dashboard (thin: builds Settings, runs uvicorn)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from pumpguard.cli._common import console, user_errors


def register(app: typer.Typer) -> None:
    app.command("api")(api)


def api(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, "--port", help="TCP port (0 picks a free one)."),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="Folder POST /train and /assess may read from."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help="Folder of model files (.skops)."),
    token_env: str = typer.Option("PUMPGUARD_API_TOKEN", "--token-env", help="Environment variable holding the bearer token of the write endpoints."),
    broker: str = typer.Option(None, "--broker", help="MQTT broker for the live view, e.g. mqtt://localhost:1883."),
    site: str = typer.Option("+", "--site", help="Site whose topics the live view follows (+ for every site)."),
    network: str = typer.Option("pumpguard", "--network", help="Network drawn on the dashboard map (name or .inp file)."),
    max_request_mb: float = typer.Option(32.0, "--max-request-mb", help="Largest request body accepted, MiB."),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) and the live dashboard at / until Ctrl-C.

    Example: PUMPGUARD_API_TOKEN=$(openssl rand -hex 16) pumpguard api --port 8000 --data-dir data --models-dir models --broker mqtt://localhost:1883
    """
    with user_errors():
        from pumpguard.api.app import create_app
        from pumpguard.api.server import ApiServer
        from pumpguard.api.settings import Settings
        from pumpguard.errors import ConfigError

        if max_request_mb <= 0:
            raise ConfigError(f"--max-request-mb {max_request_mb:g}: expected a positive size")
        settings = Settings.from_env(token_env=token_env, data_dir=str(data_dir), models_dir=str(models_dir),
                                     broker_url=broker, site=site, network=network,
                                     max_request_bytes=int(max_request_mb * (1 << 20)))
        server = ApiServer(create_app(settings), host=host, port=port, log_level="info").start()
        console.print(f"dashboard {server.url}/   API {server.url}/docs   (Ctrl-C stops)", highlight=False)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        server.stop()
        console.print("stopped", highlight=False)
