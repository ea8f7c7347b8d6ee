"""The shared base of classifiers trained on labelled rows (``machine_status`` or a 0/1 label).

:class:`SupervisedDetector` turns a classifier's class probabilities into the one detector shape of
:mod:`pumpguard.detectors.base`: the score is the probability that a row is not NORMAL.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd

from pumpguard.detectors.base import Detector, balanced_weights, thin_normal_rows


class SupervisedDetector(Detector):
    """Base of classifiers trained on labelled rows (``machine_status`` or a 0/1 label).

    ``classes_`` holds the labels seen in training (statuses in NORMAL, BROKEN, RECOVERING order,
    or ``[0, 1]``). ``score_samples`` is the probability that the row is **not NORMAL** (statuses)
    or of the positive class ``1`` (0/1 label). ``predict_status`` gives the most probable label.
    Subclasses implement ``_fit_classifier(Z, codes, sample_weight)`` and ``_proba(Z)`` on
    standardised, median-imputed values (``_standardised``). A subclass with a ``normal_stride``
    parameter is fitted on every ``normal_stride``-th normal row (:func:`thin_normal_rows`); the
    weights are balanced after thinning (:func:`balanced_weights`).
    """

    supervised: ClassVar[bool] = True
    predicts_status: ClassVar[bool] = True
    #: the label whose probability is *not* anomalous, for status labels
    normal_label: ClassVar[str] = "NORMAL"

    @abstractmethod
    def _fit_classifier(self, Z: np.ndarray, codes: np.ndarray, sample_weight: np.ndarray) -> None: ...

    @abstractmethod
    def _proba(self, Z: np.ndarray) -> np.ndarray: ...

    def _fit(self, frame: pd.DataFrame, y: pd.Series | None) -> None:
        from pumpguard.detectors._labels_encoding import encode_target

        codes, classes, anomalous = encode_target(y)
        self.classes_ = classes
        self.anomalous_classes_ = anomalous
        Z = self._standardised(frame)
        normal_code = 0  # NORMAL (statuses) or 0 (0/1 labels) is always the first class
        #: the typical normal row, standardised: the reference contributions are measured from
        self.normal_center_ = np.median(Z[codes == normal_code], axis=0)
        keep = thin_normal_rows(codes == normal_code, getattr(self, "normal_stride", 1))
        codes = codes[keep]
        self._fit_classifier(Z[keep], codes, balanced_weights(codes, len(classes)))

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Rows x ``classes_`` probabilities (NaN rows for unscorable rows)."""
        frame = self._checked(X, "predict_proba")
        proba = np.asarray(self._proba(self._standardised(frame)), dtype="float64").copy()
        proba[~self._scorable(frame.to_numpy(dtype="float64", na_value=np.nan))] = np.nan
        return pd.DataFrame(proba, index=X.index, columns=[str(c) for c in self.classes_])

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        proba = self._proba(self._standardised(frame))
        idx = [i for i, c in enumerate(self.classes_) if c in self.anomalous_classes_]
        return proba[:, idx].sum(axis=1)

    def predict_status(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable label per row (strings); ``""`` for unscorable rows."""
        proba = self.predict_proba(X).to_numpy()
        labels = np.array([str(c) for c in self.classes_], dtype=object)
        out = np.full(len(proba), "", dtype=object)
        ok = np.isfinite(proba).all(axis=1)
        out[ok] = labels[np.argmax(proba[ok], axis=1)]
        return out.astype(str)
