"""Scores that mean what they say: per-label calibration, thresholds, ECE.

Raw scores (logits) are mapped to probabilities by per-label Platt scaling
fitted on the dev split, then a per-label decision threshold is tuned on the
same calibrated dev probabilities for F1.  Both are plain numbers stored in
the model's ``config.json``.  Platt scaling is used rather than isotonic
regression because rare labels have only a dozen positive dev examples, too
few for a step function.

:func:`recalibrate` (and :func:`calibrate` for a whole model) adapts a
model's calibration and thresholds to a user's small labeled sample from
another domain without retraining: see its docstring for the method and
``benchmarks/domain_calibration.md`` for how it was chosen.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cxnlp.models.model import CXModel


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


# A slope fitted at or below zero would turn a key's scores upside down (a higher score, a lower
# probability): on a small or noisy dev set a key's few positives can happen to score lower than its
# negatives.  Such a key keeps the scorer's own scale (slope 1, held there by this prior) and only its
# offset is fitted.
FIXED_SLOPE = 1e9


@dataclass
class PlattCalibrator:
    """``p = sigmoid(a * score + b)`` for each label."""

    a: np.ndarray
    b: np.ndarray

    @classmethod
    def identity(cls, n_labels: int) -> PlattCalibrator:
        return cls(np.ones(n_labels), np.zeros(n_labels))

    @classmethod
    def fit(cls, scores: np.ndarray, y: np.ndarray, reg: float = 1e-2, iters: int = 200) -> PlattCalibrator:
        """Fit each column by Newton's method on the log-loss with Platt's target smoothing.

        Platt's smoothed targets ((n+ + 1)/(n+ + 2), 1/(n- + 2)) keep the fit
        finite when dev separates perfectly, which happens for rare labels.
        """
        n, k = scores.shape
        a, b = np.ones(k), np.zeros(k)
        for j in range(k):
            s, t = scores[:, j].astype(float), y[:, j].astype(float)
            pos = t.sum()
            if pos == 0 or pos == n:
                continue
            t = np.where(t > 0, (pos + 1) / (pos + 2), 1 / (n - pos + 2))
            a[j], b[j] = _newton_platt(s, t, reg, 0.0, iters)
            if a[j] <= 0:
                a[j], b[j] = _newton_platt(s, t, FIXED_SLOPE, 0.0, iters)
        return cls(a, b)

    def transform(self, scores: np.ndarray) -> np.ndarray:
        return _sigmoid(scores * self.a + self.b)

    def logits(self, scores: np.ndarray) -> np.ndarray:
        """The calibrated log-odds ``a * score + b``."""
        return scores * self.a + self.b

    def refit(
        self,
        scores: np.ndarray,
        y: np.ndarray,
        strength: float,
        slope_strength: float | None = None,
        iters: int = 100,
    ) -> PlattCalibrator:
        """Refit each column on new data, shrunk toward this calibration (MAP Platt scaling).

        On this calibration's log-odds ``z`` each key gets ``alpha * z + beta`` minimising the
        log-loss on ``(scores, y)`` plus ``strength / 2 * beta**2 + slope_strength / 2 * (alpha - 1)**2``
        (``slope_strength`` defaults to ``strength``): a Gaussian prior centred on "no change".  The
        data's pull grows with the key's positives and the prior's does not, so a key with two
        positives moves little and one with thirty moves most of the way.  A column without
        positives (or without negatives) is kept as it is.
        """
        z = self.logits(scores)
        slope_strength = strength if slope_strength is None else slope_strength
        alpha, beta = np.ones(z.shape[1]), np.zeros(z.shape[1])
        for j in range(z.shape[1]):
            t = (y[:, j] > 0).astype(float)
            if 0 < t.sum() < len(t):
                alpha[j], beta[j] = _newton_platt(z[:, j], t, slope_strength, strength, iters)
                if alpha[j] <= 0:
                    alpha[j], beta[j] = _newton_platt(z[:, j], t, FIXED_SLOPE, strength, iters)
        return PlattCalibrator(self.a * alpha, self.b * alpha + beta)

    def to_dict(self) -> dict:
        return {"method": "platt", "a": self.a.tolist(), "b": self.b.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> PlattCalibrator:
        if d.get("method") != "platt":
            raise ValueError(f"unknown calibration method {d.get('method')!r}")
        return cls(np.asarray(d["a"], dtype=float), np.asarray(d["b"], dtype=float))


def _newton_platt(
    s: np.ndarray, t: np.ndarray, slope_prior: float, offset_prior: float, iters: int
) -> tuple[float, float]:
    """One column's Platt scaling ``w0 * s + w1`` by Newton's method on the log-loss plus a Gaussian
    prior ``slope_prior / 2 * (w0 - 1)**2 + offset_prior / 2 * w1**2`` (centred on "no change").

    Used by :meth:`PlattCalibrator.fit` (a light slope prior, none on the offset) and
    :meth:`PlattCalibrator.refit` (a prior on both, shrinking toward the stored calibration).
    """

    def loss(w: np.ndarray) -> float:
        z = w[0] * s + w[1]
        return float(
            np.sum(np.logaddexp(0, z) - t * z) + 0.5 * slope_prior * (w[0] - 1) ** 2 + 0.5 * offset_prior * w[1] ** 2
        )

    w = np.array([1.0, 0.0])
    current = loss(w)
    for _ in range(iters):
        p = _sigmoid(w[0] * s + w[1])
        g = np.array([np.dot(p - t, s) + slope_prior * (w[0] - 1), np.sum(p - t) + offset_prior * w[1]])
        h = p * (1 - p)
        hess = np.array(
            [[np.dot(h, s * s) + slope_prior, np.dot(h, s)], [np.dot(h, s), np.sum(h) + offset_prior + 1e-9]]
        )
        step = np.linalg.solve(hess, g)
        # Backtracking: a full Newton step can overshoot from a poor start.
        scale = 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:
            scale /= 2
        w = w - scale * step
        new = loss(w)
        if current - new < 1e-10 * max(1.0, abs(current)):
            break
        current = new
    return float(w[0]), float(w[1])


def tune_thresholds(probs: np.ndarray, y: np.ndarray, default: float = 0.5, floor: float = 0.05) -> np.ndarray:
    """Per-label threshold maximising F1 on (dev) data.

    Candidates are the midpoints between sorted distinct probabilities, so the
    choice does not depend on a grid.  Ties go to the higher threshold (fewer
    false alarms).  Labels without a positive example keep ``default``.
    """
    k = probs.shape[1]
    out = np.full(k, default)
    for j in range(k):
        p, t = probs[:, j], y[:, j] > 0
        if not t.any():
            continue
        order = np.argsort(-p)
        p_sorted, t_sorted = p[order], t[order]
        tp = np.cumsum(t_sorted)
        fp = np.cumsum(~t_sorted)
        f1 = 2 * tp / (tp + fp + t.sum())
        # Only cut between distinct values: position i means "predict the first i+1".
        distinct = np.r_[p_sorted[1:] < p_sorted[:-1], True]
        f1 = np.where(distinct, f1, -1)
        best = int(np.flatnonzero(f1 == f1.max())[0])
        nxt = p_sorted[best + 1] if best + 1 < len(p_sorted) else 0.0
        out[j] = max(floor, (p_sorted[best] + nxt) / 2)
    return out


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE over every (comment, label) pair, equal-width bins."""
    p, t = probs.ravel(), (y.ravel() > 0).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - t[m].mean())
    return float(ece)


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    """Per-bin mean probability and observed frequency, for the report's chart."""
    p, t = probs.ravel(), (y.ravel() > 0).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        {
            "bin": b,
            "count": int((idx == b).sum()),
            "mean_p": float(p[idx == b].mean()),
            "freq": float(t[idx == b].mean()),
        }
        for b in range(bins)
        if (idx == b).any()
    ]


# ------------------------------------------------------ domain recalibration
# Prior strengths tried for the shift of each key's log-odds (:meth:`PlattCalibrator.refit`), chosen
# by cross-validation on the sample; the largest all but keeps the stored calibration.  The slope is
# held near the stored one (SLOPE_STRENGTH): 50-300 comments cannot estimate it.
STRENGTHS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)
SLOPE_STRENGTH = 1e4
MIN_COMMENTS = 10
THRESHOLD_FLOOR = 0.05


class CalibrationWarning(UserWarning):
    """The sample can adapt some keys only (no positive example of the others)."""


@dataclass
class Recalibration:
    """What :func:`recalibrate` fitted, and why."""

    calibrator: PlattCalibrator
    thresholds: np.ndarray
    strength: float  # prior strength chosen by cross-validation
    threshold_rule: str  # "stored": the stored per-key thresholds; "shared": one threshold, F1/2, for every key
    shared_threshold: float
    sample_f1: float  # micro F1 of the stored calibration and thresholds on the sample
    positives: np.ndarray  # per key
    criterion: dict[str, float] = field(default_factory=dict)  # in-sample micro + macro F1 of each threshold rule

    @property
    def kept(self) -> np.ndarray:
        """Keys without a positive example: stored calibration and threshold kept."""
        return self.positives == 0


def choose_strength(
    prior: PlattCalibrator,
    scores: np.ndarray,
    y: np.ndarray,
    grid: Sequence[float] = STRENGTHS,
    folds: int = 5,
    seed: int = 0,
    slope_strength: float | None = None,
) -> float:
    """The prior strength of :meth:`PlattCalibrator.refit` with the lowest cross-validated log-loss.

    ``slope_strength`` is passed to ``refit`` as it is (None: the same as the strength tried).

    Summed over the keys with positives (the others are not refitted); ties go to the stronger
    prior, so a sample the stored calibration already fits leaves it (almost) unchanged.
    """
    n = len(scores)
    cols = np.flatnonzero((y > 0).any(0))
    if not len(cols):
        return float(max(grid))
    parts = np.array_split(np.random.default_rng(seed).permutation(n), min(folds, n))
    best, best_loss = float(max(grid)), np.inf
    for strength in sorted(grid, reverse=True):
        loss = 0.0
        for held in parts:
            fit = np.setdiff1d(np.arange(n), held)
            cal = prior.refit(scores[fit], y[fit], strength, slope_strength)
            z = cal.logits(scores[held])[:, cols]
            loss += float(np.sum(np.logaddexp(0, z) - (y[held][:, cols] > 0) * z))
        if loss < best_loss - 1e-9:
            best, best_loss = float(strength), loss
    return best


def recalibrate(
    calibrator: PlattCalibrator,
    thresholds: np.ndarray,
    scores: np.ndarray,
    y: np.ndarray,
    grid: Sequence[float] = STRENGTHS,
    folds: int = 5,
    seed: int = 0,
) -> Recalibration:
    """Adapt stored calibration and thresholds to a small labeled sample (pooled logits ``scores``, labels ``y``).

    1. *Calibration*: per key, the stored Platt scaling updated on the sample and shrunk toward
       the stored parameters (:meth:`PlattCalibrator.refit`): the log-odds' offset moves, with the
       prior strength chosen by 5-fold cross-validated log-loss on the sample
       (:func:`choose_strength`); the slope stays all but fixed (``SLOPE_STRENGTH``), as a sample
       of this size can estimate a key's base rate but not its slope.
    2. *Thresholds*: the sample chooses, by in-sample micro + macro F1 (ties: stored), between the
       stored per-key thresholds and one threshold for every key at half the micro F1 the stored
       model reaches on the sample.  For calibrated probabilities the F1-optimal threshold is half
       the best F1 reachable (Lipton, Elkan & Naryanaswamy 2014), and out of domain that F1 is
       lower, so the threshold should be too; a per-key threshold tuned on 0-10 positives is noise.
    3. Keys without a positive example in the sample keep their stored calibration and threshold.

    Chosen over refitting on the sample alone and over per-key threshold shrinkage by the
    cross-fitting in ``scripts/experiments/domain_calibration.py``.
    """
    from cxnlp.evaluation import micro_macro_f1

    y = np.asarray(y)
    thresholds = np.asarray(thresholds, dtype=float)
    positives = (y > 0).sum(0)
    kept = positives == 0
    strength = choose_strength(calibrator, scores, y, grid, folds, seed, SLOPE_STRENGTH)
    cal = calibrator.refit(scores, y, strength, SLOPE_STRENGTH)
    before = calibrator.transform(scores) >= thresholds
    sample_f1 = micro_macro_f1(y, before)[0]
    shared = max(THRESHOLD_FLOOR, sample_f1 / 2)
    candidates = {"stored": thresholds.copy(), "shared": np.where(kept, thresholds, shared)}
    probs = cal.transform(scores)
    criterion = {name: round(sum(micro_macro_f1(y, probs >= t)), 6) for name, t in candidates.items()}
    rule = "shared" if criterion["shared"] > criterion["stored"] else "stored"
    return Recalibration(cal, candidates[rule], strength, rule, shared, sample_f1, positives, criterion)


def calibrate(
    model: CXModel | str | Path,
    records: Sequence[dict[str, Any]],
    *,
    source: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> CXModel:
    """A copy of ``model`` (a :class:`CXModel` or a model directory) recalibrated on labeled ``records``.

    The scorer (weights) is shared, not retrained; calibration and thresholds come from
    :func:`recalibrate`, and ``meta["calibrated"]`` records the sample (``source``, sha256, counts,
    per-key positives), the method and the base model.  With ``out`` the new model is written as a
    new directory (atomically; an existing one only with ``overwrite``), with ``metrics.json``
    holding the in-sample evaluation on the sample and a model card saying what was done.  The
    input model and its directory are never changed.  Raises :class:`cxnlp.data.DataError` for
    unusable records; warns (:class:`CalibrationWarning`) about keys without a positive example.
    """
    from cxnlp import __version__
    from cxnlp.data import DataError, label_matrix, validate_record
    from cxnlp.models.base import CONFIG_FILE, sha256_file
    from cxnlp.models.model import CXModel
    from cxnlp.training import data_hash

    base_path = None if isinstance(model, CXModel) else Path(model)
    base = CXModel.load(base_path) if base_path is not None else model
    base_path = base_path or getattr(base, "path", None)
    where = source or "records"
    records = [validate_record(r, base.taxonomy, f"{where}: row {i + 1}") for i, r in enumerate(records)]
    if len(records) < MIN_COMMENTS:
        raise DataError(f"{where}: {len(records)} labeled comments; need at least {MIN_COMMENTS} to calibrate")
    y = label_matrix(records, base.keys)
    if not y.any():
        raise DataError(
            f"{where}: none of the {len(records)} comments has a label; calibration needs labeled comments"
            " (a 'labels' column or one 0/1 column per key)"
        )
    if out is not None:
        _check_out(Path(out), base_path, overwrite)
    pooled, _, _ = base.pooled_scores([r["text"] for r in records])
    rec = recalibrate(base.calibrator, base.thresholds, pooled, y)
    missing = [k for k, kept in zip(base.keys, rec.kept, strict=True) if kept]
    if missing:
        warnings.warn(
            CalibrationWarning(
                f"{where}: no positive example of {len(missing)} keys ({', '.join(missing)}): "
                "they keep the base model's calibration and threshold"
            ),
            stacklevel=2,
        )
    meta = {k: v for k, v in base.meta.items() if k != "calibrated"}
    base_cfg = Path(base_path) / CONFIG_FILE if base_path is not None else None
    meta["calibrated"] = {
        "data": {
            "source": source,
            "sha256": data_hash(records),
            "comments": len(records),
            "positives": {k: int(n) for k, n in zip(base.keys, rec.positives, strict=True)},
        },
        "method": {
            "name": "shrunk Platt offset + threshold choice",
            "calibration": "per-key Platt scaling updated on the sample, shrunk toward the base model's"
            " (Gaussian prior on the change of each key's log-odds offset, strength by 5-fold cross-validated"
            " log-loss; slope held near the base model's)",
            "prior_strength": rec.strength,
            "strengths_tried": list(STRENGTHS),
            "slope_prior_strength": SLOPE_STRENGTH,
            "thresholds": "the stored per-key thresholds, or one shared threshold at half the base model's"
            " micro F1 on the sample, whichever has the higher in-sample micro + macro F1",
            "threshold_rule": rec.threshold_rule,
            "shared_threshold": round(rec.shared_threshold, 6),
            "base_micro_f1_on_sample": round(rec.sample_f1, 4),
            "criterion": rec.criterion,
            "kept_keys": missing,
        },
        "base_model": {
            "name": base.meta.get("name"),
            "path": str(base_path) if base_path is not None else None,
            "config_sha256": sha256_file(base_cfg) if base_cfg is not None and base_cfg.exists() else None,
            "calibration": base.calibrator.to_dict(),
            "thresholds": {k: round(float(t), 6) for k, t in zip(base.keys, base.thresholds, strict=True)},
            "calibrated": base.meta.get("calibrated"),
        },
        "created_with": f"cxnlp {__version__}",
    }
    if out is not None:
        meta["name"] = Path(out).name
    new = base.with_calibration(rec.calibrator, rec.thresholds, meta)
    if out is not None:
        from cxnlp.evaluation import evaluate_records
        from cxnlp.modelcard import model_card
        from cxnlp.models.model import write_model_dir

        metrics = {
            "calibration_sample": {**evaluate_records(new, records), "in_sample": True},
            "calibration_sample_base": evaluate_records(base, records),
        }
        new.path = write_model_dir(new, out, metrics, model_card(new, metrics), overwrite=overwrite)
    return new


def _check_out(out: Path, base_path: Path | None, overwrite: bool) -> None:
    from cxnlp.models.base import ModelDirError
    from cxnlp.models.model import check_new_model_dir

    if base_path is not None:
        o, b = out.resolve(), Path(base_path).resolve()
        if o == b or b in o.parents or o in b.parents:
            raise ModelDirError(f"{out}: is (or holds) the model being calibrated; choose another output directory")
    check_new_model_dir(out, overwrite)
