"""The API's guards: the bearer token on write endpoints, request size, paths kept inside data_dir.

The size guard is ASGI middleware rather than a check in each endpoint so an over-large body is
refused before it is read into memory: by its ``Content-Length`` at once, or (chunked uploads
without a length) as soon as the bytes received pass the limit.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pumpguard.errors import PumpguardError


class AuthError(PumpguardError, PermissionError):
    """No or wrong bearer token on a write endpoint (401 without one, 403 with a wrong one)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class PathOutsideDataError(PumpguardError, PermissionError):
    """A path that resolves outside the configured data directory (``..`` or a symlink out)."""


_bearer = HTTPBearer(auto_error=False, description="The API token (pumpguard api --token-env VAR)")


def require_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Refuse unless ``Authorization: Bearer <the configured token>`` (constant-time compare)."""
    expected: str = request.app.state.settings.token
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise AuthError("this endpoint changes state: send 'Authorization: Bearer <token>' with the API token",
                        status_code=401)
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise AuthError("the bearer token is not this API's token", status_code=403)


def inside(data_dir: Path, relative: str) -> Path:
    """``relative`` resolved under ``data_dir``, refusing absolute paths, ``..`` and symlinks that leave it.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "pump.csv").write_text("x")
    1
    >>> inside(root, "pump.csv") == (root / "pump.csv").resolve()
    True
    >>> inside(root, "../etc/passwd")
    Traceback (most recent call last):
    ...
    pumpguard.api.security.PathOutsideDataError: path '../etc/passwd' leaves the data directory: give a path relative to it, without '..'
    """
    text = str(relative)
    if not text or "\x00" in text:
        raise PathOutsideDataError(f"path {text!r} is empty or holds a NUL byte: give a file name inside the data directory")
    p = Path(text)
    if p.is_absolute() or ".." in p.parts:
        raise PathOutsideDataError(f"path {text!r} leaves the data directory: give a path relative to it, without '..'")
    root = Path(data_dir).resolve()
    target = (root / p).resolve()  # follows symlinks: one pointing outside is caught below
    if target != root and root not in target.parents:
        raise PathOutsideDataError(f"path {text!r} points outside the data directory (a symlink?): only files under it can be read")
    if not target.exists():
        raise FileNotFoundError(2, f"no file {text!r} in the data directory", text)
    return target


class BodySizeLimit:
    """ASGI middleware: answer 413 to a request body over ``max_bytes``."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, int(max_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return await _refuse(send, 400, "Content-Length is not a number")
                if length > self.max_bytes:
                    return await _refuse(send, 413, self._message(length))
        seen = 0
        started = responded = False

        async def counted_receive():
            nonlocal seen, responded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not responded:
                    # answer now: whatever the framework makes of the exception below is dropped
                    if not started:
                        await _refuse(send, 413, self._message(seen))
                    responded = True
                    raise _TooLarge()
            return message

        async def tracked_send(message):
            nonlocal started
            if responded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            pass

    def _message(self, length: int) -> str:
        return (f"request body of {length:,} bytes is over the limit of {self.max_bytes:,} bytes: send fewer rows, "
                "or put the file in the data directory and pass its path")


class _TooLarge(Exception):
    pass


async def _refuse(send, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
