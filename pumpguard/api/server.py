"""Run the app with uvicorn in a background thread (the demo, the browser tests) or in the foreground.

:class:`ApiServer` binds the socket itself before uvicorn starts, so ``port=0`` gives a free port
that is known (``server.url``) before the first request, with no race between choosing and binding.
"""

from __future__ import annotations

import socket
import threading
import time

from pumpguard.errors import ConfigError


class ApiServer:
    """uvicorn serving ``app`` on ``host:port`` in a thread named ``pumpguard-api-server``.

    Examples
    --------
    >>> from fastapi import FastAPI
    >>> server = ApiServer(FastAPI(), port=0).start()
    >>> server.url.startswith("http://127.0.0.1:")
    True
    >>> server.stop()
    """

    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.app, self.host = app, host
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, int(port)))
            self._sock.listen(2048)  # listening now: a second server on this port fails at once
        except OSError as exc:
            self._sock.close()
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port or --host") from None
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="pumpguard-api-server", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> "ApiServer":
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the API server did not start on {self.url} within {timeout_s:g} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the open event streams (uvicorn waits for open responses before the lifespan ends),
        ask uvicorn to finish, and wait for it."""
        hub = getattr(getattr(self.app, "state", None), "hub", None)
        if hub is not None:
            hub.close_browsers()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._sock.close()

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
