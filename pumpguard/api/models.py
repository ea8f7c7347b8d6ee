"""The models folder as the API sees it: model ids, cards, loading (cached), training, assessing.

A model id is the file name without ``.skops``; the last assessment of a model is kept beside it in
``<id>.assessment/`` (``assessment.json`` + ``assessment.html``, as ``pumpguard assess`` writes).
Training and assessing call the same library functions as the CLI.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

from pumpguard.errors import ConfigError, PumpguardError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SUFFIX = ".skops"


class UnknownModelError(PumpguardError, KeyError):
    """No model with that id in the models folder."""

    def __str__(self) -> str:
        return str(self.args[0])


class ModelStore:
    """Models in one folder.

    Examples
    --------
    >>> import tempfile
    >>> store = ModelStore(Path(tempfile.mkdtemp()))
    >>> store.ids()
    []
    >>> store.path("../x")
    Traceback (most recent call last):
    ...
    pumpguard.errors.ConfigError: model id '../x': expected letters, digits, '.', '_' or '-' (GET /models lists the ids)
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, object]] = {}

    def path(self, model_id: str) -> Path:
        if not _ID.match(model_id or "") or ".." in model_id:
            raise ConfigError(f"model id {model_id!r}: expected letters, digits, '.', '_' or '-' (GET /models lists the ids)")
        return self.folder / f"{model_id}{SUFFIX}"

    def ids(self) -> list[str]:
        """Model ids, newest file first."""
        files = sorted(self.folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.name[: -len(SUFFIX)] for p in files if _ID.match(p.name[: -len(SUFFIX)])]

    def _existing(self, model_id: str) -> Path:
        path = self.path(model_id)
        if not path.is_file():
            known = ", ".join(self.ids()[:10]) or "none yet (POST /train makes one)"
            raise UnknownModelError(f"no model {model_id!r} in the models folder; known: {known}")
        return path

    def load(self, model_id: str):
        """The :class:`~pumpguard.detectors.training.TrainedModel`, reloaded when its file changed."""
        from pumpguard.detectors.model_file import load_model

        path = self._existing(model_id)
        mtime = path.stat().st_mtime
        with self._lock:
            hit = self._cache.get(model_id)
            if hit and hit[0] == mtime:
                return hit[1]
        trained = load_model(path)
        with self._lock:
            self._cache[model_id] = (mtime, trained)
        return trained

    def default_id(self) -> str:
        ids = self.ids()
        if not ids:
            raise UnknownModelError("no model in the models folder yet: POST /train makes one")
        return ids[0]

    def summary(self, model_id: str) -> dict:
        """id, detector, threshold, sensors, split and the last assessment's headline (from the card)."""
        from pumpguard.detectors.model_file import read_card

        path = self._existing(model_id)
        card = read_card(path)
        split = card.get("split", {})
        return {"id": model_id, "detector": card.get("detector"), "params": card.get("params", {}),
                "threshold": card.get("threshold"), "n_sensors": len(card.get("sensors", [])),
                "trained_until": split.get("train_end"), "validated_until": split.get("validation_end"),
                "saved": datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(),
                "assessment": card.get("assessment") or None}

    def card(self, model_id: str) -> dict:
        """The full model card plus what the detector learned, and the last assessment report if any."""
        from pumpguard.detectors.model_file import model_card

        card = model_card(self.load(model_id))
        report = self.folder / f"{model_id}.assessment" / "assessment.json"
        card["id"] = model_id
        card["last_assessment"] = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
        return card

    def train(self, dataset, detector: str, params: dict, *, name: str | None = None, **kwargs) -> str:
        """Train (``pumpguard.detectors.training.train``), save, return the new model id."""
        from pumpguard.detectors.model_file import save_model
        from pumpguard.detectors.training import train

        trained = train(dataset, detector, params, **kwargs)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        model_id = name or f"{detector}-{stamp}"
        path = self.path(model_id)
        if path.exists():
            raise ConfigError(f"a model {model_id!r} already exists: choose another name or leave it out")
        self.folder.mkdir(parents=True, exist_ok=True)
        save_model(trained, path)
        return model_id

    def assess(self, model_id: str, dataset, *, horizon=None, everything: bool = False) -> dict:
        """Assess like ``pumpguard assess`` (report kept in ``<id>.assessment/``); the headline and slice."""
        from pumpguard.workflows.assessing import assess_to_folder
        from pumpguard.detectors.model_file import update_card
        from pumpguard.evaluation import headline

        trained = self.load(model_id)
        report = assess_to_folder(trained, dataset, self.folder / f"{model_id}.assessment",
                                  everything=everything, horizon=horizon, model_label=model_id)
        head = headline(report)
        update_card(self.path(model_id), {"assessed": report["slice"], "horizon_s": report["horizon_s"], **head})
        with self._lock:
            self._cache.pop(model_id, None)
        return {"model": model_id, "slice": report["slice"], "horizon_s": report["horizon_s"], "headline": head}
