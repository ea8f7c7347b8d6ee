"""The FastAPI app: ``create_app(settings)``; its lifespan owns the live hub's MQTT client.

Read endpoints are open; every write endpoint (``/predict``, ``/train``, ``/assess``, acknowledging an
alarm) needs ``Authorization: Bearer <token>``. Every :class:`~pumpguard.errors.PumpguardError` becomes a
4xx answer ``{"detail": "<what to fix>"}`` in one handler. See ``docs/api.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import orjson
from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles

from pumpguard import __version__
from pumpguard.api import scoring
from pumpguard.api.alarms import UnknownAlarmError
from pumpguard.api.live import LiveHub
from pumpguard.api.metrics import Metrics
from pumpguard.api.models import ModelStore, UnknownModelError
from pumpguard.api.security import AuthError, BodySizeLimit, PathOutsideDataError, _bearer, inside, require_token
from pumpguard.api.settings import Settings
from pumpguard.errors import ConfigError, DataFormatError, PumpguardError, UnknownSensorError

STATIC = Path(str(files("pumpguard.api").joinpath("static")))
#: Seconds between keep-alive comments on the event stream (proxies close idle streams after ~60 s).
HEARTBEAT_S = 15.0
UPLOAD_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def _status_of(exc: PumpguardError) -> int:
    if isinstance(exc, AuthError):
        return exc.status_code
    if isinstance(exc, PathOutsideDataError):
        return 403
    if isinstance(exc, (UnknownModelError, UnknownAlarmError)):
        return 404
    if isinstance(exc, (DataFormatError, UnknownSensorError)):
        return 422
    return 400


def create_app(settings: Settings, *, hub: LiveHub | None = None, network_map: dict | None = None) -> FastAPI:
    """The API and dashboard app.

    ``hub``: a :class:`LiveHub` to show (the demo feeds one in process); by default a new one, fed
    from ``settings.broker_url`` when set. ``network_map``: the map to draw (default: the map of
    ``settings.network``, see :func:`pumpguard.api.network_map.network_map`).
    """
    metrics = Metrics()
    hub = hub if hub is not None else LiveHub(window=settings.window)
    if hub.metrics is None:
        hub.metrics = metrics
    store = ModelStore(settings.models_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        connected = False
        if settings.broker_url:
            from pumpguard.stream.codec import Topics
            from pumpguard.stream.mqtt import Broker

            hub.connect(Broker.from_url(settings.broker_url), Topics(site=settings.site, root=settings.root))
            connected = True
        try:
            yield
        finally:
            hub.close_browsers()
            if connected:
                await asyncio.to_thread(hub.disconnect)

    app = FastAPI(title="pumpguard", version=__version__, lifespan=lifespan,
                  description="Anomaly and failure detection for a water-pump sensor network: predictions, "
                              "models, the controller's state and the alarms. Write endpoints need "
                              "`Authorization: Bearer <token>`.")
    app.state.settings, app.state.hub, app.state.metrics, app.state.store = settings, hub, metrics, store
    app.state.network_map = network_map
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        if path not in ("/events/stream",):
            metrics.request(path, response.status_code, time.perf_counter() - t0)
        return response

    @app.exception_handler(PumpguardError)
    async def pumpguard_error(request: Request, exc: PumpguardError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) and exc.status_code == 401 else None
        return JSONResponse({"detail": str(exc)}, status_code=_status_of(exc), headers=headers)

    @app.exception_handler(FileNotFoundError)
    async def missing_file(request: Request, exc: FileNotFoundError):
        return JSONResponse({"detail": f"{exc.strerror or exc}: check the path (relative to the data directory)"},
                            status_code=404)

    def writer(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        require_token(request, credentials)

    Write = Depends(writer)

    # -- reading ---------------------------------------------------------------------------------
    @app.get("/health", tags=["service"])
    def health() -> dict:
        """Liveness and what this process serves."""
        return {"status": "ok", "version": __version__, "models": len(store.ids()),
                "broker": settings.broker_url is not None, "broker_connected": hub.broker_connected}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus text format: rows scored, alarms, request latency, errors, broker connection."""
        text = metrics.render(broker_connected=hub.broker_connected, alarms_open=hub.alarms_open)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/models", tags=["models"])
    def list_models() -> list[dict]:
        """Every model in the models folder, newest first, with its last assessment's headline."""
        out = []
        for model_id in store.ids():
            try:
                out.append(store.summary(model_id))
            except PumpguardError as exc:  # one damaged file must not hide the others
                out.append({"id": model_id, "error": str(exc)})
        return out

    @app.get("/models/{model_id}", tags=["models"])
    def get_model(model_id: str) -> dict:
        """The model card (detector, parameters, sensors, threshold, split) and its last assessment."""
        return store.card(model_id)

    @app.get("/state", tags=["live"])
    def state() -> dict:
        """The controller's last state, its recent transitions, each asset's latest prediction."""
        return hub.state()

    @app.get("/alarms", tags=["live"])
    def alarms(open_only: Annotated[bool, Query(alias="open", description="only alarms not yet closed")] = False) -> list[dict]:
        """Detector and controller alarms, oldest first."""
        return hub.alarms(open_only=open_only)

    @app.get("/network", tags=["live"])
    def network() -> dict:
        """The network drawn on the dashboard: nodes, links, zones, sensors with coordinates."""
        if app.state.network_map is None:
            from pumpguard.api.network_map import network_map as build

            app.state.network_map = build(settings.network)
        return app.state.network_map

    # -- writing ---------------------------------------------------------------------------------
    @app.post("/alarms/{alarm_id}/ack", tags=["live"], dependencies=[Write])
    def acknowledge(alarm_id: str, by: Annotated[str, Query(max_length=64, description="who acknowledges")] = "operator") -> dict:
        """Acknowledge an alarm (the controller is told through the hub's acknowledge handlers)."""
        return hub.acknowledge(alarm_id, by=by.strip() or "operator")

    @app.post("/predict", tags=["models"], dependencies=[Write],
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {"type": "object", "description":
                      'one row {"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 2.4}} or {"rows": [row, ...]}'}},
                  "text/csv": {"schema": {"type": "string", "description": "timestamp column, then one column per sensor"}}}}})
    async def predict(request: Request,
                      model: Annotated[str | None, Query(description="model id (default: the newest)")] = None,
                      asset: Annotated[str, Query(description="asset name echoed in each prediction")] = "api") -> dict:
        """Score rows: one prediction each, with the fields of the MQTT prediction topic."""
        body = await request.body()
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        return await asyncio.to_thread(_predict, body, kind, model, asset)

    def _predict(body: bytes, kind: str, model: str | None, asset: str) -> dict:
        scoring.check_asset(asset)
        model_id = model or store.default_id()
        trained = store.load(model_id)
        if not body:
            raise DataFormatError("empty body", expected='JSON {"ts", "values"} / {"rows": [...]} or CSV text')
        if kind in ("text/csv", "application/csv", "text/plain"):
            rows, rejected = scoring.rows_from_csv(body, trained.sensor_ids, asset)
        elif kind in ("application/json", ""):
            rows, rejected = scoring.rows_from_json(body, trained.sensor_ids, asset, settings.max_request_bytes)
        else:
            raise DataFormatError(f"Content-Type {kind!r} is not accepted", expected="application/json or text/csv")
        if not rows:
            reasons = "; ".join(r["reason"] for r in rejected[:3]) or "no rows"
            raise DataFormatError(f"no row could be scored: {reasons}")
        predictions, repeated = scoring.predict_rows(trained, model_id, rows)
        rejected += repeated
        metrics.rows_scored(len(predictions), source="api")
        if rejected:
            metrics.error("rejected_rows")
        return {"model": model_id, "predictions": predictions, "rejected": rejected[:scoring.MAX_LISTED_REJECTIONS],
                "n_rejected": len(rejected)}

    def _dataset(path: str | None, upload: UploadFile | None):
        from pumpguard.data import read_dataset

        if (path is None) == (upload is None):
            raise ConfigError("give exactly one of: 'path' (a file under the data directory) or 'file' (an upload)")
        if path is not None:
            return read_dataset(inside(settings.data_dir, path))
        name = (upload.filename or "").lower()
        suffix = next((s for s in UPLOAD_SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            raise DataFormatError(f"uploaded file {upload.filename!r}: unknown kind",
                                  expected="a name ending in " + ", ".join(UPLOAD_SUFFIXES))
        with tempfile.TemporaryDirectory(prefix="pumpguard-upload-") as tmp:
            target = Path(tmp) / f"upload{suffix}"
            with target.open("wb") as fh:
                while chunk := upload.file.read(1 << 20):
                    fh.write(chunk)
            try:
                return read_dataset(target)
            except DataFormatError as exc:
                raise DataFormatError(str(exc).replace(str(target), upload.filename or "upload")) from None

    def _params(text: str) -> dict:
        try:
            params = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"params is not JSON ({exc.msg}): expected an object such as {{\"variance\": 0.9}}") from None
        if not isinstance(params, dict):
            raise ConfigError("params: expected a JSON object such as {\"variance\": 0.9}")
        return params

    @app.post("/train", tags=["models"], dependencies=[Write])
    def train(detector: Annotated[str, Form(description="pca, iforest, random_forest, early_warning, ...")],
              path: Annotated[str | None, Form(description="data file relative to the data directory")] = None,
              file: Annotated[UploadFile | None, File(description="or: upload a .csv / .parquet file")] = None,
              params: Annotated[str, Form(description="detector parameters as a JSON object")] = "{}",
              name: Annotated[str | None, Form(description="model id (default: detector-time)")] = None,
              train_fraction: Annotated[float, Form(gt=0, lt=1)] = 0.6,
              validation_fraction: Annotated[float, Form(gt=0, lt=1)] = 0.2,
              false_alarm_rate: Annotated[float | None, Form(gt=0, lt=1)] = None,
              horizon: Annotated[str | None, Form(description="look-back before a failure, e.g. 12h")] = None) -> dict:
        """Train on the first part of the data in time, save the model, assess it on the untouched rest."""
        from pumpguard.detectors.registry import DETECTORS

        if detector not in DETECTORS:
            raise ConfigError(f"detector {detector!r} is not known: expected one of {', '.join(sorted(DETECTORS))}")
        if train_fraction + validation_fraction >= 1:
            raise ConfigError(f"train_fraction + validation_fraction = {train_fraction + validation_fraction:g}: "
                              "expected less than 1, so rows are left to assess on")
        if name is not None:
            store.path(name)
        dataset = _dataset(path, file)
        kwargs = {"train_fraction": train_fraction, "validation_fraction": validation_fraction}
        if false_alarm_rate is not None:
            kwargs["false_alarm_rate"] = false_alarm_rate
        model_id = store.train(dataset, detector, _params(params), name=name, **kwargs)
        assessment, note = None, None
        if dataset.labels.shape[1]:
            try:
                assessment = store.assess(model_id, dataset, horizon=_horizon(horizon))
            except PumpguardError as exc:
                note = f"trained, but not assessed: {exc}"
        else:
            note = "no label column: not assessed (POST /assess with labelled data)"
        return {"model": model_id, "summary": store.summary(model_id), "assessment": assessment, "note": note}

    @app.post("/assess", tags=["models"], dependencies=[Write])
    def assess(model: Annotated[str, Form(description="model id")],
               path: Annotated[str | None, Form(description="labelled data file relative to the data directory")] = None,
               file: Annotated[UploadFile | None, File(description="or: upload a labelled .csv / .parquet file")] = None,
               horizon: Annotated[str | None, Form(description="look-back before a failure, e.g. 12h; 0 for anomaly labels")] = None,
               everything: Annotated[bool, Form(description="assess every row, including trained-on ones (optimistic)")] = False) -> dict:
        """Assess a model on the rows after its training and validation slices (as `pumpguard assess`)."""
        store.load(model)
        dataset = _dataset(path, file)
        return store.assess(model, dataset, horizon=_horizon(horizon), everything=everything)

    # -- live page -------------------------------------------------------------------------------
    @app.get("/events/stream", include_in_schema=False)
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: a ``snapshot`` first, then every change."""
        queue = hub.subscribe()

        async def stream():
            try:
                yield _sse({"type": "snapshot", "data": hub.snapshot()})
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
                    except asyncio.TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                        continue
                    if event is None:
                        return
                    yield _sse(event)
            finally:
                hub.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _horizon(text: str | None):
    if text is None or text == "":
        return None
    from pumpguard.evaluation import parse_horizon

    return parse_horizon(text)


def _sse(event: dict) -> bytes:
    return b"data: " + orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY) + b"\n\n"
