"""What the API needs to know: where data and models live, the write token, limits, the broker.

Read from the command line or from ``PUMPGUARD_*`` environment variables (:meth:`Settings.from_env`);
the token itself is never a command-line argument (it would show in ``ps``), only the *name* of the
variable holding it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pumpguard.errors import ConfigError

#: 32 MiB: a month of the pump CSV (43,200 rows x 52 sensors) is about 20 MB; bigger data belongs in
#: a file under data_dir (train/assess by path), not in a request body.
DEFAULT_MAX_REQUEST_BYTES = 32 << 20
#: Shortest token accepted: 16 characters (~96 bits from `secrets.token_urlsafe(12)`).
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Settings:
    """Configuration of one API process.

    Examples
    --------
    >>> s = Settings(data_dir=Path("."), models_dir=Path("."), token="x" * 16)
    >>> s.max_request_bytes == DEFAULT_MAX_REQUEST_BYTES, s.broker_url, s.site
    (True, None, '+')
    >>> Settings(data_dir=Path("."), models_dir=Path("."), token="short")
    Traceback (most recent call last):
    ...
    pumpguard.errors.ConfigError: API token is 5 characters: expected at least 16 (e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')
    """

    data_dir: Path
    models_dir: Path
    token: str
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    broker_url: str | None = None
    site: str = "+"
    #: MQTT topic root (tests use a unique one)
    root: str = "pumpguard"
    #: network drawn on the dashboard map: a name (``pumpguard``, ``Net3``) or an .inp path
    network: str = "pumpguard"
    #: predictions/telemetry points kept per asset for the live view
    window: int = 600

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"API token is {len(self.token)} characters: expected at least {MIN_TOKEN_CHARS} "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
            )
        if int(self.max_request_bytes) < 1024:
            raise ConfigError(f"max_request_bytes={self.max_request_bytes}: expected at least 1024")
        if int(self.window) < 10:
            raise ConfigError(f"window={self.window}: expected at least 10 points")

    @classmethod
    def from_env(cls, *, token_env: str = "PUMPGUARD_API_TOKEN", **overrides) -> "Settings":
        """Settings from ``PUMPGUARD_DATA_DIR``, ``PUMPGUARD_MODELS_DIR``, the token variable
        ``token_env``, ``PUMPGUARD_MAX_REQUEST_BYTES``, ``PUMPGUARD_BROKER``, ``PUMPGUARD_SITE``;
        keyword ``overrides`` (not None) win."""
        token = os.environ.get(token_env)
        if not token:
            raise ConfigError(f"environment variable {token_env} is not set: put the API's bearer token in it "
                              f"(export {token_env}=$(python -c 'import secrets; print(secrets.token_urlsafe(24))'))")
        env = {
            "data_dir": os.environ.get("PUMPGUARD_DATA_DIR", "data"),
            "models_dir": os.environ.get("PUMPGUARD_MODELS_DIR", "models"),
            "max_request_bytes": os.environ.get("PUMPGUARD_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
            "broker_url": os.environ.get("PUMPGUARD_BROKER") or None,
            "site": os.environ.get("PUMPGUARD_SITE", "+"),
        }
        env.update({k: v for k, v in overrides.items() if v is not None})
        try:
            max_bytes = int(env["max_request_bytes"])
        except ValueError:
            raise ConfigError(f"PUMPGUARD_MAX_REQUEST_BYTES={env['max_request_bytes']!r}: expected a whole number of bytes") from None
        data_dir, models_dir = Path(env.pop("data_dir")), Path(env.pop("models_dir"))
        if not data_dir.is_dir():
            raise ConfigError(f"data directory {data_dir} does not exist: create it or pass --data-dir")
        models_dir.mkdir(parents=True, exist_ok=True)
        env["max_request_bytes"] = max_bytes
        return cls(data_dir=data_dir.resolve(), models_dir=models_dir.resolve(), token=token, **env)
