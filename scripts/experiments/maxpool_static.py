"""Static token vectors max-pooled (and min-pooled) over a segment's tokens, next to their SIF mean.

    python scripts/experiments/maxpool_static.py MODE [WEIGHT] [NAME=VALUE ...]
        MODE: none (the default recipe through the patched code), max, maxmin; WEIGHT of the new block (1)

Patches :class:`cxnlp.models.fast.FastScorer` in this process only: the pooled vectors join the dense
features (L2-normalised, times WEIGHT) and the hidden layer reads them too; scoring takes the plain
product of all features (slower than the default's projection, the same up to rounding).  Trains with
the default settings (seed 0) plus any ``NAME=VALUE`` overrides, scores dev, ``ood_dev`` and
``ood_wide_dev``, and saves nothing.  Session 10 (docs/experiments.md): not adopted.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import cxnlp.models.fast as fast
from cxnlp.data import read_jsonl
from cxnlp.evaluation import micro_macro_f1
from cxnlp.training import TrainConfig, train

MODE = sys.argv[1]
WEIGHT = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
BLOCKS = {"none": 0, "max": 1, "maxmin": 2}[MODE]
plain_parts = fast.FastScorer._parts


def pooled(scorer, parts: list[str]) -> np.ndarray:
    """Per string: the max (and min) of its tokens' static vectors."""
    st = scorer.static
    out = np.zeros((len(parts), st.dim * BLOCKS), np.float32)
    for i, enc in enumerate(st.tokenizer.encode_batch(list(parts), add_special_tokens=False)):
        if enc.ids:
            v = st.vectors[enc.ids]
            out[i, : st.dim] = v.max(0)
            if BLOCKS == 2:
                out[i, st.dim :] = v.min(0)
    return out


def parts_with_pooling(self, items):
    X, dense = plain_parts(self, items)
    if dense is None or not BLOCKS:
        return X, dense
    parts, S = fast.item_index(items)
    P = pooled(self, parts)
    if S is not None:  # a document: pool over its segments
        d = self.static.dim
        Q = np.zeros((S.shape[0], P.shape[1]), np.float32)
        for r in range(S.shape[0]):
            rows = P[S.indices[S.indptr[r] : S.indptr[r + 1]]]
            Q[r, :d] = rows[:, :d].max(0)
            if BLOCKS == 2:
                Q[r, d:] = rows[:, d:].min(0)
        P = Q
    norms = np.linalg.norm(P, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return X, np.hstack([dense, (P / norms * WEIGHT).astype(np.float32)])


def hidden_columns(self, X):
    nw, d = len(self.counter.word_vocab), X.shape[1]
    return X[:, np.r_[0:nw, d - self.static_dim * (1 + BLOCKS) : d]].tocsr()


def decision_function(self, texts):
    X = self.features(texts)
    out = np.asarray(X @ self.coef) + self.intercept
    if self.w1 is None:
        return out
    h = np.maximum(np.asarray(self._hidden_columns(X) @ self.w1) + self.b1, 0)
    return out + h @ self.w2 + self.b2


def main() -> None:
    fast.FastScorer._parts = parts_with_pooling
    fast.FastScorer._hidden_columns = hidden_columns
    fast.FastScorer.decision_function = decision_function
    t = time.time()
    model, _, _ = train(TrainConfig().with_overrides(sys.argv[3:]), log=lambda *a: None)
    row = [f"{MODE} weight {WEIGHT}"]
    for split in ["dev", "ood_dev", "ood_wide_dev"]:
        recs = read_jsonl(f"data/annotated/{split}.jsonl")
        pred = model.predict([r["text"] for r in recs]).astype(bool)
        gold = np.array([[k in r["labels"] for k in model.keys] for r in recs])
        micro, macro = micro_macro_f1(gold, pred)
        row.append(f"{split} {micro:.3f} / {macro:.3f}")
    print(" | ".join(row), f"| {time.time() - t:.0f}s", flush=True)


if __name__ == "__main__":
    main()
