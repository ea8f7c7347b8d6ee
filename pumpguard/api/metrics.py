"""The API's counters and their Prometheus text exposition (format 0.0.4), written by hand.

Seven series are not worth a dependency; the text format is small and stable
(https://prometheus.io/docs/instrumenting/exposition_formats/).
"""

from __future__ import annotations

import threading
from collections import defaultdict

#: Request latency buckets, seconds: a /predict of one row takes ~5 ms, a /train minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """Thread-safe counters of one API process.

    Examples
    --------
    >>> m = Metrics()
    >>> m.rows_scored(3, source="api"); m.request("/predict", 200, 0.004)
    >>> text = m.render(broker_connected=None, alarms_open=0)
    >>> 'pumpguard_rows_scored_total{source="api"} 3' in text
    True
    >>> 'pumpguard_request_seconds_bucket{path="/predict",le="0.005"} 1' in text
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, int] = defaultdict(int)
        self._alarms: dict[str, int] = defaultdict(int)
        self._requests: dict[tuple[str, int], int] = defaultdict(int)
        self._errors: dict[str, int] = defaultdict(int)
        self._hist: dict[str, list[int]] = {}
        self._sum: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)

    def rows_scored(self, n: int, *, source: str) -> None:
        with self._lock:
            self._rows[source] += int(n)

    def alarm_raised(self, *, source: str) -> None:
        with self._lock:
            self._alarms[source] += 1

    def error(self, kind: str) -> None:
        with self._lock:
            self._errors[kind] += 1

    def request(self, path: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(path, int(status))] += 1
            counts = self._hist.setdefault(path, [0] * len(LATENCY_BUCKETS))
            for i, edge in enumerate(LATENCY_BUCKETS):
                if seconds <= edge:
                    counts[i] += 1
            self._sum[path] += seconds
            self._count[path] += 1
            if status >= 400:
                self._errors[f"http_{status // 100}xx"] += 1

    def render(self, *, broker_connected: bool | None, alarms_open: int) -> str:
        """The exposition text; ``broker_connected`` None means no broker is configured."""
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        with self._lock:
            family("pumpguard_rows_scored_total", "counter", "Rows scored (api: POST /predict; stream: predictions seen).")
            for source in sorted(self._rows) or ["api"]:
                out.append(f'pumpguard_rows_scored_total{{source="{source}"}} {self._rows.get(source, 0)}')
            family("pumpguard_alarms_total", "counter", "Alarms raised (detector: anomaly onsets; controller: incidents).")
            for source in sorted(self._alarms) or ["controller"]:
                out.append(f'pumpguard_alarms_total{{source="{source}"}} {self._alarms.get(source, 0)}')
            family("pumpguard_alarms_open", "gauge", "Alarms not yet closed.")
            out.append(f"pumpguard_alarms_open {int(alarms_open)}")
            family("pumpguard_errors_total", "counter", "Errors by kind (http_4xx, http_5xx, rejected rows, broker).")
            for kind in sorted(self._errors) or ["http_5xx"]:
                out.append(f'pumpguard_errors_total{{kind="{kind}"}} {self._errors.get(kind, 0)}')
            family("pumpguard_requests_total", "counter", "HTTP requests by path template and status.")
            for (path, status), n in sorted(self._requests.items()):
                out.append(f'pumpguard_requests_total{{path="{path}",status="{status}"}} {n}')
            family("pumpguard_request_seconds", "histogram", "HTTP request latency by path template.")
            for path in sorted(self._hist):
                for edge, n in zip(LATENCY_BUCKETS, self._hist[path]):
                    out.append(f'pumpguard_request_seconds_bucket{{path="{path}",le="{edge:g}"}} {n}')
                out.append(f'pumpguard_request_seconds_bucket{{path="{path}",le="+Inf"}} {self._count[path]}')
                out.append(f'pumpguard_request_seconds_sum{{path="{path}"}} {self._sum[path]:.6f}')
                out.append(f'pumpguard_request_seconds_count{{path="{path}"}} {self._count[path]}')
        family("pumpguard_broker_connected", "gauge", "1 when connected to the MQTT broker, 0 when not, absent without one.")
        if broker_connected is not None:
            out.append(f"pumpguard_broker_connected {int(bool(broker_connected))}")
        return "\n".join(out) + "\n"
