"""PCA process monitoring: Hotelling T-squared and SPE (Q) on standardised sensors.

Sensors of one pump move together (pressure, flow, current and speed are tied by the pump curve),
so normal running lives near a low-dimensional subspace. PCA fitted on NORMAL rows gives two
statistics per row ``z`` (standardised with the training mean and standard deviation):

- **T-squared** ``sum_i t_i**2 / lambda_i`` over the kept components: how unusual the row is *inside*
  the normal subspace (an unusual but consistent operating point);
- **SPE / Q** ``||z - P P' z||**2``: how far the row is *off* the subspace (sensors that no longer
  agree with each other -- a broken correlation, a drifting sensor).

Kept components: the fewest explaining ``variance`` (default 0.95) of the training variance, the
textbook rule (Jackson, *A User's Guide to Principal Components*); the rest is treated as noise.

Score: ``statistic="combined"`` (default) is the combined index of Yue & Qin (2001),
``T2 / T2_ref + SPE / SPE_ref``, each statistic divided by its own training quantile
``reference_quantile`` (default 0.99), so 1.0 means "as unusual as the 1 % most unusual training
rows" for either statistic. ``"t2"`` and ``"spe"`` give one statistic (divided by its reference).

Contributions add up exactly to the score: SPE parts are the squared residuals ``e_j**2``; T-squared
parts are the complete-decomposition contributions ``((P L^-1/2 P') z)_j**2`` (Alcala & Qin 2009).

Missing readings: filled with their **conditional mean** given the observed sensors of that row
under the training covariance (a row-local least-squares fill, so the fill agrees with how the
sensors co-vary); a sensor that did not report gets no contribution -- it cannot be blamed.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from pumpguard.detectors._validation import check_choice, check_fraction
from pumpguard.detectors.base import Detector

#: ridge added to the covariance when filling missing readings (standardised units, so ~0.1 % of a variance)
_FILL_RIDGE = 1e-3


class PCADetector(Detector):
    """PCA T-squared / SPE detector.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(size=(2000, 1))
    >>> X = pd.DataFrame(np.hstack([base, 2 * base, -base]) + 0.1 * rng.normal(size=(2000, 3)),
    ...                  columns=["flow", "current", "suction"])
    >>> det = PCADetector().fit(X)
    >>> det.n_components_
    1
    >>> broken = pd.DataFrame({"flow": [0.0], "current": [3.0], "suction": [0.0]})  # current off the line
    >>> float(det.score_samples(broken)[0]) > 10
    True
    >>> det.contributions(broken).idxmax(axis=1).tolist()
    ['current']
    """

    name: ClassVar[str] = "pca"

    def __init__(self, *, variance: float = 0.95, statistic: str = "combined", reference_quantile: float = 0.99):
        self.variance = variance
        self.statistic = statistic
        self.reference_quantile = reference_quantile

    def _check_params(self) -> None:
        check_fraction("variance", self.variance)
        check_choice("statistic", self.statistic, ("combined", "t2", "spe"))
        check_fraction("reference_quantile", self.reference_quantile)

    def _fit(self, frame: pd.DataFrame, y) -> None:
        Z = self._standardised(frame)
        self.center_ = Z.mean(axis=0)
        Zc = Z - self.center_
        cov = Zc.T @ Zc / max(len(Zc) - 1, 1)
        self.covariance_ = cov
        #: inverse of the (slightly ridged) covariance, for filling missing readings
        self.precision_ = np.linalg.inv(cov + _FILL_RIDGE * np.eye(len(cov)))
        eigval, eigvec = np.linalg.eigh(cov)
        order = np.argsort(eigval)[::-1]
        eigval, eigvec = np.clip(eigval[order], 0.0, None), eigvec[:, order]
        total = eigval.sum()
        if total <= 0:
            k = 1
        else:
            share = np.cumsum(eigval) / total
            k = int(np.searchsorted(share, self.variance - 1e-12) + 1)
        k = max(1, min(k, len(eigval) - 1 if len(eigval) > 1 else 1))
        self.n_components_ = k
        self.explained_variance_ = eigval[:k]
        self.explained_variance_ratio_ = eigval[:k] / total if total > 0 else np.ones(k)
        self.components_ = eigvec[:, :k].T
        # a component with ~zero variance would blow T-squared up: floor it
        floor = max(1e-12, 1e-9 * float(eigval[0]))
        self.inv_sqrt_eigenvalues_ = 1.0 / np.sqrt(np.maximum(eigval[:k], floor))
        t2, spe = self._statistics(Zc)
        self.t2_reference_ = _positive_quantile(t2, self.reference_quantile)
        self.spe_reference_ = _positive_quantile(spe, self.reference_quantile)

    # -- internals ---------------------------------------------------------------------------
    def _filled(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Centred standardised rows with missing readings replaced by their conditional mean."""
        return self._filled_values(frame.to_numpy(dtype="float64", na_value=np.nan))

    def _filled_values(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        missing = ~np.isfinite(values)
        missing[:, self.unusable_mask_] = False  # always 0 in standardised units
        Z = self._standardised_values(values) - self.center_
        Z[missing] = 0.0
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size:
            # group rows by their pattern of missing sensors (packed to bytes: unique on bytes is fast)
            packed = np.packbits(missing[rows], axis=1)
            keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.flatnonzero(np.diff(inverse[order])) + 1
            # conditional mean through the precision matrix Q: z_M = -Q_MM^-1 Q_MO z_O, a solve of the
            # size of the *missing* set (the missing entries are 0, so Q_MO z_O = (Z Q)[:, M])
            Q = self.precision_
            for group in np.split(order, bounds):
                sel = rows[group]
                pattern = missing[sel[0]]
                if pattern.all() or not (~pattern).any():
                    continue  # unscorable: NaN later
                cols = np.flatnonzero(pattern)
                pull = Z[sel] @ Q[:, cols]
                Z[np.ix_(sel, cols)] = -np.linalg.solve(Q[np.ix_(cols, cols)], pull.T).T
        return Z, missing

    def _statistics(self, Zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = Zc @ self.components_.T
        t2 = ((scores * self.inv_sqrt_eigenvalues_) ** 2).sum(axis=1)
        resid = Zc - scores @ self.components_
        spe = (resid**2).sum(axis=1)
        return t2, spe

    def _parts(self, Zc: np.ndarray) -> np.ndarray:
        """Per-sensor parts of the score (rows x sensors), summing exactly to it."""
        return self._parts_and_statistics(Zc)[0]

    def _parts_and_statistics(self, Zc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(parts, t2, spe)`` from one projection of the rows; ``t2`` and ``spe`` are computed
        exactly as :meth:`_statistics` computes them (the same operations, so the same numbers)."""
        P = self.components_
        scores = Zc @ P.T
        weighted = scores * self.inv_sqrt_eigenvalues_
        t2 = (weighted**2).sum(axis=1)
        resid = Zc - scores @ P
        spe = (resid**2).sum(axis=1)
        parts = np.zeros_like(Zc)
        if self.statistic in ("combined", "t2"):
            half = weighted @ P  # (P L^-1/2 P') z
            parts += half**2 / self.t2_reference_
        if self.statistic in ("combined", "spe"):
            parts += resid**2 / self.spe_reference_
        return parts, t2, spe

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        Zc, _ = self._filled(frame)
        return self._score_filled(Zc)

    def _score_filled(self, Zc: np.ndarray) -> np.ndarray:
        return self._combine(*self._statistics(Zc))

    def _combine(self, t2: np.ndarray, spe: np.ndarray) -> np.ndarray:
        if self.statistic == "t2":
            return t2 / self.t2_reference_
        if self.statistic == "spe":
            return spe / self.spe_reference_
        return t2 / self.t2_reference_ + spe / self.spe_reference_

    def _contributions(self, frame: pd.DataFrame) -> np.ndarray:
        Zc, missing = self._filled(frame)
        parts = self._parts(Zc)
        parts[missing] = 0.0
        return parts

    def _score_and_contributions(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return self._score_and_contributions_values(frame.to_numpy(dtype="float64", na_value=np.nan))

    def _score_and_contributions_values(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the missing-value fill is most of the work of both: do it once
        Zc, missing = self._filled_values(values)
        parts, t2, spe = self._parts_and_statistics(Zc)  # one projection for both
        parts[missing] = 0.0
        return self._combine(t2, spe), parts


def _positive_quantile(values: np.ndarray, q: float) -> float:
    ref = float(np.quantile(values, q)) if len(values) else 1.0
    return ref if ref > 1e-12 else 1.0
