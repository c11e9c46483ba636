"""Calibrating on more than the key's own pooled score: does the comment's length or the other keys' scores help?

    python scripts/experiments/stacked_calibration.py [MODEL]    # default models/cx-default

A comment's pooled score is its best segment's logit (plus the whole text's),
so a long CFPB narrative gets many chances to score high on any key: on dev
the default model's false positives for ``expertise-`` and
``professionalism-`` are mostly sentences of long complaints that describe a
company's failure, not a person's.  Platt scaling sees only the score, so it
cannot discount length.  Compared here, per key, each fitted on the model's
calibration data (dev + held-out synthetic comments), thresholds F1-tuned on
the same data:

- ``platt``: the stored recipe, sigmoid(a * s_k + b);
- ``platt+len``: sigmoid(a * s_k + c * log(segments) + b);
- ``stack``: logistic regression over every key's pooled score and
  log(segments) (L2, features standardised), so that ``coldness`` can inform
  ``friendliness-``.

Scored on ``ood_dev`` (fitted on all the calibration data) and on dev by
5-fold cross-fitting (each dev fold scored by a calibrator fitted on the
other folds plus the synthetic share), never on a test split.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

from cxnlp.calibration import PlattCalibrator, tune_thresholds
from cxnlp.data import label_matrix, load_records, read_jsonl
from cxnlp.evaluation import micro_macro_f1
from cxnlp.models.model import CXModel
from cxnlp.training import TrainConfig, held_out_for_calibration


def features(model: CXModel, records) -> tuple[np.ndarray, np.ndarray]:
    pooled, _, segs = model.pooled_scores([r["text"] for r in records])
    n = np.log1p(np.array([len(s) for s in segs], dtype=float))[:, None]
    return pooled, n


class Rule:
    def __init__(self, kind: str, C: float = 1.0) -> None:
        self.kind, self.C = kind, C

    def fit(self, s: np.ndarray, n: np.ndarray, y: np.ndarray) -> Rule:
        if self.kind == "platt":
            self.platt = PlattCalibrator.fit(s, y)
        else:
            X = self._x(s, n, fit=True)
            self.lrs = []
            for j in range(y.shape[1]):
                cols = self._cols(j, X.shape[1])
                lr = LogisticRegression(C=self.C, max_iter=2000)
                self.lrs.append(lr.fit(X[:, cols], y[:, j]) if 0 < y[:, j].sum() < len(y) else None)
        self.thresholds = tune_thresholds(self.proba(s, n), y)
        return self

    def _cols(self, j: int, width: int) -> list[int]:
        return [j, width - 1] if self.kind == "platt+len" else list(range(width))

    def _x(self, s, n, fit=False):
        X = np.hstack([s, n])
        if fit:
            self.mu, self.sd = X.mean(0), X.std(0) + 1e-9
        return (X - self.mu) / self.sd

    def proba(self, s: np.ndarray, n: np.ndarray) -> np.ndarray:
        if self.kind == "platt":
            return self.platt.transform(s)
        X = self._x(s, n)
        out = np.zeros_like(s)
        for j, lr in enumerate(self.lrs):
            out[:, j] = lr.predict_proba(X[:, self._cols(j, X.shape[1])])[:, 1] if lr is not None else 0.0
        return out


def main(path: str = "models/cx-default") -> None:
    model = CXModel.load(path)
    splits = load_records(None)
    config = TrainConfig()
    syn = [r for r in splits.get("train_synthetic", []) if held_out_for_calibration(r, config)]
    dev, ood = splits["dev"], list(read_jsonl("data/annotated/ood_dev.jsonl"))
    (s_syn, n_syn), (s_dev, n_dev), (s_ood, n_ood) = (features(model, r) for r in (syn, dev, ood))
    y_syn, y_dev, y_ood = (label_matrix(r, model.keys) for r in (syn, dev, ood))
    folds = np.random.default_rng(0).permutation(len(dev)) % 5

    rules = [("platt (stored recipe)", "platt", 1.0)]
    rules += [("platt+len", "platt+len", 100.0)]
    rules += [(f"stack C={c}", "stack", c) for c in (0.03, 0.1, 0.3, 1.0)]
    print("| calibration | dev micro / macro (5-fold) | ood_dev micro / macro |\n|---|---:|---:|")
    for name, kind, C in rules:
        pred = np.zeros_like(y_dev, dtype=bool)
        for f in range(5):
            tr, te = folds != f, folds == f
            rule = Rule(kind, C).fit(
                np.vstack([s_syn, s_dev[tr]]), np.vstack([n_syn, n_dev[tr]]), np.vstack([y_syn, y_dev[tr]])
            )
            pred[te] = rule.proba(s_dev[te], n_dev[te]) >= rule.thresholds
        full = Rule(kind, C).fit(np.vstack([s_syn, s_dev]), np.vstack([n_syn, n_dev]), np.vstack([y_syn, y_dev]))
        cells = [micro_macro_f1(y_dev, pred), micro_macro_f1(y_ood, full.proba(s_ood, n_ood) >= full.thresholds)]
        print(f"| {name} | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in cells) + " |", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
