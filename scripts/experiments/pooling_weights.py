"""Per-key logistic on (best segment logit, doc logit) vs Platt on their sum, 5-fold CV on dev and ood_dev.

    python scripts/experiments/pooling_weights.py models/cx-default

The default pooling adds the best segment's logit and the whole comment's logit; this asks whether
learning a weight for each (per key) would do better.  Everything is fitted on four folds of a split and
scored on the fifth, so the figures are out-of-fold.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from cxnlp.data import label_matrix
from cxnlp.models.model import CXModel


def pooled_parts(model: CXModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    model.pooling = "max"
    seg, _, _ = model.pooled_scores(texts)
    model.pooling = "max+doc"
    both, _, _ = model.pooled_scores(texts)
    return seg, both


def micro_macro(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    tp = (pred & gold).sum(0)
    fp = (pred & ~gold).sum(0)
    fn = (~pred & gold).sum(0)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    per = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(micro), float(per[gold.sum(0) > 0].mean())


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, chosen = -1.0, 0.5
    for t in np.linspace(0.05, 0.9, 35):
        hit = p >= t
        f1 = 2 * (hit & y).sum() / max(1, hit.sum() + y.sum())
        if f1 > best:
            best, chosen = f1, t
    return chosen


def out_of_fold(features: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """``features``: (comments, keys, inputs); one logistic regression per key and fold."""
    pred = np.zeros_like(gold)
    for train, held in KFold(5, shuffle=True, random_state=0).split(gold):
        for j in range(gold.shape[1]):
            if gold[train, j].sum() < 2:
                continue
            X = features[:, j, :]
            clf = LogisticRegression(C=100).fit(X[train], gold[train, j])
            t = best_threshold(clf.predict_proba(X[train])[:, 1], gold[train, j])
            pred[held, j] = clf.predict_proba(X[held])[:, 1] >= t
    return pred


def main() -> None:
    model = CXModel.load(sys.argv[1])
    for split in ("dev", "ood_dev"):
        with open(f"data/annotated/{split}.jsonl", encoding="utf-8") as fh:
            recs = [json.loads(line) for line in fh]
        gold = label_matrix(recs, model.keys).astype(bool)
        seg, both = pooled_parts(model, [r["text"] for r in recs])
        doc = both - seg
        variants = {
            "sum (default)": both[:, :, None],
            "learned seg+doc weights": np.stack([seg, doc], axis=-1),
            "best segment only": seg[:, :, None],
        }
        for name, features in variants.items():
            micro, macro = micro_macro(out_of_fold(features, gold), gold)
            print(f"{split}: {name}: micro F1 {micro:.3f}, macro F1 {macro:.3f}")


if __name__ == "__main__":
    main()
