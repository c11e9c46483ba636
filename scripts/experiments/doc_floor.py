"""Experiment (session 13, not adopted): floor the whole-comment (window) logit of max+doc pooling at F.

    python scripts/experiments/doc_floor.py [F]

Patches CXModel.pooled_scores in memory, refits the default's calibration on its calibration data and scores
dev, ood_dev and ood_wide_dev, and a sentence buried at the end of a 100,000-character export.
"""

import sys

import numpy as np

from cxnlp.data import load_records
from cxnlp.evaluation import evaluate_records
from cxnlp.models.model import CXModel
from cxnlp.training import TrainConfig, calibration_records, fit_calibration

F = float(sys.argv[1]) if len(sys.argv) > 1 else None
orig = CXModel.pooled_scores
if F is not None:

    def patched(self, texts, segs=None):
        sc = self.scorer
        real = sc.decision_function

        def df(items):
            out = real(items)
            n_seg = sum(1 for it in items if not isinstance(it, tuple))
            out = out.copy()
            out[n_seg:] = np.maximum(out[n_seg:], F)
            return out

        sc.decision_function = df
        try:
            return orig(self, texts, segs)
        finally:
            sc.decision_function = real

    CXModel.pooled_scores = patched
m = CXModel.load("models/cx-default")
splits = load_records()
fit_calibration(m, calibration_records(TrainConfig(), splits))
row = [f"floor {F}"]
for s in ("dev", "ood_dev", "ood_wide_dev"):
    r = evaluate_records(m, splits[s])
    row.append(f"{s} {r['micro']['f1']:.3f} / {r['macro_f1']:.3f}")

filler = [r["text"] for r in splits["train"] if not r["labels"]]
text = "\n".join(filler)[:100_000] + "\nThe agent hung up on me twice."
p = m.predict_proba([text])[0][m.index["brush_off"]]
row.append(f"100k brush_off {p:.2f} thr {m.thresholds[m.index['brush_off']]:.2f}")
print(" | ".join(row))
