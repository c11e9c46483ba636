"""Per-key logistic on (best segment logit, doc logit) vs Platt on their sum, 5-fold CV on dev and ood_dev.

    python scripts/experiments/pooling_weights.py models/cx-default
"""
import json, sys, numpy as np
from cxnlp.models.model import CXModel
from cxnlp.data import label_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
m = CXModel.load(sys.argv[1])
def parts(texts):
    m.pooling = "max"; seg, _, _ = m.pooled_scores(texts)
    m.pooling = "max+doc"; both, _, _ = m.pooled_scores(texts)
    return seg, both
def f1s(P, Y):
    tp = (P & Y).sum(0); fp = (P & ~Y).sum(0); fn = (~P & Y).sum(0)
    micro = 2*tp.sum()/(2*tp.sum()+fp.sum()+fn.sum())
    per = np.where(2*tp+fp+fn>0, 2*tp/np.maximum(2*tp+fp+fn,1), np.nan)
    return micro, np.nanmean(per[Y.sum(0)>0])
for split in ["dev", "ood_dev"]:
    recs = [json.loads(l) for l in open(f"data/annotated/{split}.jsonl")]
    Y = label_matrix(recs, m.keys).astype(bool)
    seg, both = parts([r["text"] for r in recs])
    doc = both - seg
    res = {}
    for name, feats in [("sum", lambda j: both[:, [j]]), ("seg+doc", lambda j: np.c_[seg[:, j], doc[:, j]]), ("seg", lambda j: seg[:, [j]])]:
        P = np.zeros_like(Y)
        for tr, te in KFold(5, shuffle=True, random_state=0).split(Y):
            for j in range(len(m.keys)):
                X = feats(j)
                if Y[tr, j].sum() < 2:
                    continue
                clf = LogisticRegression(C=100).fit(X[tr], Y[tr, j])
                ptr = clf.predict_proba(X[tr])[:, 1]
                # F1-optimal threshold on the training folds
                best, bt = -1, 0.5
                for t in np.linspace(0.05, 0.9, 35):
                    pr = ptr >= t; tp = (pr & Y[tr, j]).sum(); f = 2*tp/max(1, pr.sum()+Y[tr, j].sum())
                    if f > best: best, bt = f, t
                P[te, j] = clf.predict_proba(X[te])[:, 1] >= bt
        res[name] = f1s(P, Y)
    print(split, {k: tuple(round(x, 3) for x in v) for k, v in res.items()})
