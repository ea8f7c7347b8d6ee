"""The server thread: a free port, the event stream (snapshot first, then changes), a clean stop."""

from __future__ import annotations

import json
import threading
import time


def test_event_stream_and_clean_stop(settings):
    import httpx

    from pumpguard.api.app import create_app
    from pumpguard.api.server import ApiServer

    app = create_app(settings)
    server = ApiServer(app, port=0).start()
    events: list[dict] = []
    opened = threading.Event()

    def read():
        with httpx.stream("GET", server.url + "/events/stream", timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    opened.set()

    reader = threading.Thread(target=read, name="test-sse-reader", daemon=True)
    reader.start()
    try:
        assert opened.wait(10)
        app.state.hub.publish("prediction", {"ts": "2026-01-01T00:00:00Z", "score": 1.0, "threshold": 2.0,
                                             "anomaly": False, "status": "NORMAL", "top_sensors": []}, asset="p")
        deadline = time.monotonic() + 5
        while len(events) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert events[0]["type"] == "snapshot" and events[1]["type"] == "prediction"
        assert events[1]["asset"] == "p" and events[1]["data"]["score"] == 1.0
    finally:
        t0 = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - t0
    reader.join(5)
    assert not reader.is_alive(), "the open stream was ended at shutdown"
    assert stopped_in < 5, f"stop took {stopped_in:.1f} s with a browser connected"


def test_busy_port_is_a_clear_error(settings):
    import pytest

    from pumpguard.api.server import ApiServer
    from pumpguard.errors import ConfigError

    from fastapi import FastAPI

    first = ApiServer(FastAPI(), port=0)
    try:
        with pytest.raises(ConfigError, match="choose another --port"):
            ApiServer(FastAPI(), port=first.port)
    finally:
        first.stop()
