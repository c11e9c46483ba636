"""Scores that mean what they say: per-label calibration, thresholds, ECE.

Raw scores (logits) are mapped to probabilities by per-label Platt scaling
fitted on the dev split, then a per-label decision threshold is tuned on the
same calibrated dev probabilities for F1.  Both are plain numbers stored in
the model's ``config.json``.  Platt scaling is used rather than isotonic
regression because rare labels have only a dozen positive dev examples, too
few for a step function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


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

            def loss(w: np.ndarray, s=s, t=t) -> float:
                z = w[0] * s + w[1]
                return float(np.sum(np.logaddexp(0, z) - t * z) + 0.5 * reg * (w[0] - 1) ** 2)

            w = np.array([1.0, 0.0])
            current = loss(w)
            for _ in range(iters):
                p = _sigmoid(w[0] * s + w[1])
                g = np.array([np.dot(p - t, s), np.sum(p - t)]) + reg * np.array([w[0] - 1, 0])
                h = p * (1 - p)
                hess = np.array([[np.dot(h, s * s) + reg, np.dot(h, s)], [np.dot(h, s), np.sum(h) + 1e-9]])
                step = np.linalg.solve(hess, g)
                # Backtracking: a full Newton step can overshoot from a poor start.
                scale = 1.0
                while scale > 1e-6 and loss(w - scale * step) > current:
                    scale /= 2
                w = w - scale * step
                new = loss(w)
                if current - new < 1e-10 * max(1.0, abs(current)):
                    current = new
                    break
                current = new
            a[j], b[j] = w
        return cls(a, b)

    def transform(self, scores: np.ndarray) -> np.ndarray:
        return _sigmoid(scores * self.a + self.b)

    def to_dict(self) -> dict:
        return {"method": "platt", "a": self.a.tolist(), "b": self.b.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> PlattCalibrator:
        if d.get("method") != "platt":
            raise ValueError(f"unknown calibration method {d.get('method')!r}")
        return cls(np.asarray(d["a"], dtype=float), np.asarray(d["b"], dtype=float))


def f1_at(probs: np.ndarray, y: np.ndarray, threshold: float) -> float:
    pred = probs >= threshold
    tp = float(np.sum(pred & (y > 0)))
    fp = float(np.sum(pred & (y == 0)))
    fn = float(np.sum(~pred & (y > 0)))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


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
