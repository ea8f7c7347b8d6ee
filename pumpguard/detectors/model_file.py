"""Safe model files: a skops archive plus the model card, with a content hash.

A pumpguard model file is a skops zip archive (``skops.io.dump`` of the fitted detector) with two
more members:

- ``pumpguard_card.json``: the card (:meth:`TrainedModel.card`): detector name and parameters,
  sensors and units, threshold and how it was set, the time split, the training-data hash, the
  pumpguard version, and the ``assessment`` summary that ``assess`` fills in (:func:`update_card`);
- ``pumpguard_manifest.json``: ``format``, ``format_version``, ``saved_at`` and ``content_sha256``,
  the SHA-256 of every other member (name and bytes, in name order).

Loading never runs code from the file: the archive's types are listed with
``skops.io.get_untrusted_types`` and only an allow-list is trusted (:data:`TRUSTED_PREFIXES`); any
other type is refused by name. A file that is truncated, altered (hash mismatch), or not ours is
refused with :class:`~pumpguard.errors.ModelFileError`. See ``docs/model-file.md``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import skops.io as sio

from pumpguard import __version__
from pumpguard.detectors.base import Detector
from pumpguard.detectors.training import TrainedModel
from pumpguard.errors import ModelFileError

FORMAT = "pumpguard-model"
FORMAT_VERSION = 1
CARD_MEMBER = "pumpguard_card.json"
MANIFEST_MEMBER = "pumpguard_manifest.json"
#: types trusted on load, by fully qualified name prefix: our detectors, numpy, scikit-learn
TRUSTED_PREFIXES = ("pumpguard.", "numpy.", "sklearn.")


def _content_hash(members: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(members):
        if name == MANIFEST_MEMBER:
            continue
        h.update(name.encode() + b"\0" + hashlib.sha256(members[name]).digest())
    return h.hexdigest()


def _write(path: Path, members: dict[str, bytes], saved_at: str) -> None:
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pumpguard_version": __version__,
        "saved_at": saved_at,
        "content_sha256": _content_hash(members),
    }
    members = {**members, MANIFEST_MEMBER: json.dumps(manifest, indent=2).encode()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        os.replace(tmp, path)  # a reader never sees half a file
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _card_bytes(card: dict, path: Path) -> bytes:
    try:
        return json.dumps(card, indent=2, sort_keys=True, allow_nan=True).encode()
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model card holds a value that is not JSON ({exc})", path=path) from None


def save_model(trained: TrainedModel, path: str | Path) -> Path:
    """Write ``trained`` to ``path`` (conventionally ``*.skops``); returns the path."""
    path = Path(path)
    buf = io.BytesIO()
    sio.dump(trained.detector, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members[CARD_MEMBER] = _card_bytes(trained.card(), path)
    _write(path, members, _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    return path


def _read_members(path: Path) -> tuple[dict[str, bytes], dict]:
    """Every member, after checking it is our format and unaltered; ``(members, manifest)``."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a directory, expected a model file", path=path) from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {name: zf.read(name) for name in zf.namelist()}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise ModelFileError(
            f"{path} is not a pumpguard model file, or it is truncated or damaged ({exc}). "
            "Fix: train again (pumpguard train ...) or copy the file again.",
            path=path,
        ) from None
    if MANIFEST_MEMBER not in members or CARD_MEMBER not in members:
        raise ModelFileError(
            f"{path} is not a pumpguard model file (no {MANIFEST_MEMBER}). A plain pickle is imported "
            "with import_pickle(..., trust=True); a bare skops file must be trained again with pumpguard.",
            path=path,
        )
    try:
        manifest = json.loads(members[MANIFEST_MEMBER])
    except ValueError:
        raise ModelFileError(f"{path}: the manifest is not valid JSON: the file is damaged", path=path) from None
    if manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a pumpguard model file (format {manifest.get('format')!r})", path=path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model-file format {version!r}; this pumpguard ({__version__}) reads up to "
            f"{FORMAT_VERSION}. Fix: upgrade pumpguard.",
            path=path,
        )
    if manifest.get("content_sha256") != _content_hash(members):
        raise ModelFileError(
            f"{path} has been altered or damaged: its content no longer matches the hash it was saved with. "
            "Fix: train again or restore the original file.",
            path=path,
        )
    return members, manifest


def _load_detector(path: Path, members: dict[str, bytes]) -> Detector:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, blob in members.items():
            if name not in (CARD_MEMBER, MANIFEST_MEMBER):
                zf.writestr(name, blob)
    data = buf.getvalue()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises several kinds on a malformed schema
        raise ModelFileError(f"{path}: the model part cannot be read ({exc})", path=path) from None
    refused = sorted(t for t in untrusted if not t.startswith(TRUSTED_PREFIXES))
    if refused:
        raise ModelFileError(
            f"{path} holds types pumpguard does not trust, so it was not loaded: {', '.join(refused)}. "
            "Only pumpguard, numpy and scikit-learn types are loaded. Fix: train the model with pumpguard.",
            path=path,
            untrusted=refused,
        )
    try:
        detector = sio.load(io.BytesIO(data), trusted=list(untrusted))
    except Exception as exc:
        raise ModelFileError(f"{path}: the model part cannot be rebuilt ({type(exc).__name__}: {exc})", path=path) from None
    if not isinstance(detector, Detector):
        raise ModelFileError(f"{path}: the model part is a {type(detector).__name__}, not a pumpguard detector", path=path)
    return detector


def load_model(path: str | Path) -> TrainedModel:
    """Read a model file written by :func:`save_model` (refusing anything unsafe or altered)."""
    path = Path(path)
    members, manifest = _read_members(path)
    detector = _load_detector(path, members)
    card = json.loads(members[CARD_MEMBER])
    if list(getattr(detector, "sensors_", [])) != [s["id"] for s in card["sensors"]]:
        raise ModelFileError(f"{path}: the card's sensors do not match the detector's: the file is inconsistent", path=path)
    _check_it_scores(detector, card, path)
    return TrainedModel.from_card(card, detector)


def _check_it_scores(detector, card: dict, path: Path) -> None:
    """Score one typical row (the training medians) so a file whose detector cannot work with this
    pumpguard -- written by a version whose detector kept other fitted state -- is refused here with
    one message, not with a traceback at the first prediction."""
    import numpy as np
    import pandas as pd

    sensors = list(detector.sensors_)
    median = np.asarray(getattr(detector, "median_", np.zeros(len(sensors))), dtype="float64")
    row = pd.DataFrame([np.where(np.isfinite(median), median, 0.0)], columns=sensors,
                       index=pd.DatetimeIndex([pd.Timestamp("2000-01-01", tz="UTC")], name="timestamp"))
    try:
        detector.score_samples(row)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise ModelFileError(
            f"{path}: the {card.get('detector')} detector in this file cannot score with this pumpguard "
            f"({__version__}; the file was written by {card.get('pumpguard_version')}): "
            f"{type(exc).__name__}: {exc}. Fix: retrain it with `pumpguard train`", path=path) from None


def read_card(path: str | Path) -> dict:
    """The card of a model file (checked for alteration) without loading the detector."""
    path = Path(path)
    members, manifest = _read_members(path)
    card = json.loads(members[CARD_MEMBER])
    card["file"] = {"path": str(path), **{k: v for k, v in manifest.items() if k != "content_sha256"},
                    "content_sha256": manifest["content_sha256"]}
    return card


def update_card(path: str | Path, assessment_summary: dict) -> None:
    """Store ``assessment_summary`` (JSON-able) in the card of the model file at ``path``."""
    path = Path(path)
    members, manifest = _read_members(path)
    card = json.loads(members[CARD_MEMBER])
    card["assessment"] = dict(assessment_summary)
    members[CARD_MEMBER] = _card_bytes(card, path)
    _write(path, members, manifest.get("saved_at", ""))


def model_card(trained: TrainedModel) -> dict:
    """What ``pumpguard model show`` prints: the card plus what the detector learned."""
    det = trained.detector
    card = trained.card()
    card["detector_class"] = f"{type(det).__module__}.{type(det).__qualname__}"
    card["supervised"] = bool(det.supervised)
    card["time_aware"] = bool(det.time_aware)
    card["n_sensors"] = int(det.n_sensors_)
    card["unusable_sensors"] = list(getattr(det, "unusable_sensors_", []))
    if hasattr(det, "classes_"):
        card["classes"] = [str(c) for c in det.classes_]
    if hasattr(det, "n_components_"):
        card["n_components"] = int(det.n_components_)
    return card
