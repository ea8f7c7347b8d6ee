"""HTTP API and live dashboard: ``create_app(settings)`` (FastAPI), the :class:`LiveHub`, the network map.

- :mod:`.settings` -- :class:`Settings` (data/models folders, token, limits, broker, site).
- :mod:`.app` -- :func:`create_app`, the endpoints, the lifespan that owns the MQTT client.
- :mod:`.live` -- :class:`LiveHub`: what is happening now, fed by MQTT or in process; SSE fan-out.
- :mod:`.security` -- bearer token, body size limit, paths kept inside the data directory.

Imports :mod:`pumpguard.stream`, :mod:`pumpguard.detectors`, :mod:`pumpguard.network`, :mod:`pumpguard.data`.
"""

from pumpguard.api.settings import Settings

__all__ = ["Settings", "create_app", "LiveHub"]


def __getattr__(name: str):  # FastAPI is imported only when the app is wanted
    if name == "create_app":
        from pumpguard.api.app import create_app

        return create_app
    if name == "LiveHub":
        from pumpguard.api.live import LiveHub

        return LiveHub
    raise AttributeError(name)
