"""LF analysis: coverage, overlap, conflict, empirical and estimated accuracy; per-key coverage; HTML report.

For each source (an LF voting on one key), over the corpus:

* **coverage**: share of comments where it votes (present or absent);
* **overlap**: share of the comments it votes on where another LF votes on the same key too;
* **conflict**: share of the comments it votes on where another LF votes the *opposite* value on the same key;
* **precision (dev)**: on labeled comments, the share of its *present* votes whose key is in the gold labels
  (and **absent accuracy**: the share of its *absent* votes where the key is not);
* **precision (model)**: the label model's estimate, learned without labels (or anchored on dev).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from cxnlp.weak.apply import Votes
from cxnlp.weak.label_model import LabelModel


def lf_summary(
    votes: Votes,
    keys: Sequence[str],
    dev_votes: Votes | None = None,
    dev_y: np.ndarray | None = None,
    label_model: LabelModel | None = None,
) -> list[dict[str, Any]]:
    """One row per source (LF, key)."""
    L = votes.L
    n = max(1, len(votes))
    est = {}
    if label_model is not None:
        est = {(s["lf"], s["key"]): s["precision"] for s in label_model.lf_stats()}
    index = {k: i for i, k in enumerate(keys)}
    rows = []
    for key in keys:
        cols = votes.columns(key)
        block = L[:, cols]
        for c_i, j in enumerate(cols):
            lf, _ = votes.sources[j]
            mine = block[:, c_i]
            on = mine >= 0
            others = np.delete(block, c_i, axis=1)
            other_on = (others >= 0).any(1) if others.shape[1] else np.zeros(len(mine), bool)
            opposite = np.zeros(len(mine), bool)
            if others.shape[1]:
                opposite = ((mine == 1)[:, None] & (others == 0)).any(1) | ((mine == 0)[:, None] & (others == 1)).any(1)
            row = {
                "lf": lf,
                "key": key,
                "coverage": float(on.sum() / n),
                "present": int((mine == 1).sum()),
                "absent": int((mine == 0).sum()),
                "overlap": float((on & other_on).sum() / on.sum()) if on.any() else 0.0,
                "conflict": float((on & opposite).sum() / on.sum()) if on.any() else 0.0,
                "precision_model": est.get((lf, key)) if (mine == 1).any() else None,
            }
            if dev_votes is not None and dev_y is not None and key in index:
                d = dev_votes.L[:, j]
                y = np.asarray(dev_y)[:, index[key]]
                row["dev_present"] = int((d == 1).sum())
                row["precision_dev"] = float(y[d == 1].mean()) if (d == 1).any() else None
                row["dev_absent"] = int((d == 0).sum())
                row["absent_accuracy_dev"] = float(1 - y[d == 0].mean()) if (d == 0).any() else None
            rows.append(row)
    return rows


def key_summary(votes: Votes, keys: Sequence[str], probs: np.ndarray, decisions: np.ndarray) -> list[dict[str, Any]]:
    """One row per key: LFs, share of comments with a present vote, share labeled, mean probability."""
    n = max(1, len(votes))
    out = []
    for k_i, key in enumerate(keys):
        cols = votes.columns(key)
        voted = (votes.L[:, cols] == 1).any(1) if cols else np.zeros(len(votes), bool)
        out.append(
            {
                "key": key,
                "lfs": len({votes.sources[j][0] for j in cols}),
                "coverage": float(voted.sum() / n),
                "labeled": int(decisions[:, k_i].sum()),
                "labeled_share": float(decisions[:, k_i].sum() / n),
                "mean_prob": float(probs[:, k_i].mean()) if len(probs) else 0.0,
            }
        )
    return out


def _f(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _chart(lf_rows: list[dict[str, Any]], key_rows: list[dict[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cxnlp.evaluation import _png

    present = [r for r in lf_rows if r["present"]]
    fig, axes = plt.subplots(1, 2, figsize=(14, max(5, 0.18 * len(present))))
    ax = axes[0]
    labels = [f"{r['lf']} [{r['key']}]" for r in present]
    y = np.arange(len(present))
    ax.barh(y, [100 * r["coverage"] for r in present], color="#4c78a8", label="coverage (% of comments)")
    prec = [r.get("precision_dev") for r in present]
    if any(p is not None for p in prec):
        ax2 = ax.twiny()
        ax2.plot([p if p is not None else np.nan for p in prec], y, "o", color="#e45756", label="precision on dev")
        ax2.set_xlim(0, 1)
        ax2.set_xlabel("precision of present votes on dev (dots)")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("coverage, % of comments (bars)")
    ax.set_title("Labeling functions")
    ax = axes[1]
    y = np.arange(len(key_rows))
    ax.barh(y, [100 * r["coverage"] for r in key_rows], color="#72b7b2", label="any LF votes present")
    ax.barh(y, [100 * r["labeled_share"] for r in key_rows], height=0.4, color="#f58518", label="labeled by the model")
    ax.set_yticks(y)
    ax.set_yticklabels([r["key"] for r in key_rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("% of comments")
    ax.legend(fontsize=8)
    ax.set_title("Per key")
    return _png(fig)


def html_report(
    title: str,
    lf_rows: list[dict[str, Any]],
    key_rows: list[dict[str, Any]],
    scores: dict[str, dict[str, Any]] | None = None,
    n_comments: int = 0,
) -> str:
    """A self-contained HTML page: chart, LF table, key table, and label model vs majority vote when scored."""
    esc = html.escape
    has_dev = any("precision_dev" in r for r in lf_rows)
    head = "<th>LF</th><th>key</th><th>coverage</th><th>present</th><th>absent</th><th>overlap</th><th>conflict</th>"
    head += "<th>precision (model)</th>" + (
        "<th>dev votes</th><th>precision (dev)</th><th>absent acc. (dev)</th>" if has_dev else ""
    )
    body = ""
    for r in lf_rows:
        body += (
            f"<tr><td>{esc(r['lf'])}</td><td>{esc(r['key'])}</td><td>{100 * r['coverage']:.2f}%</td>"
            f"<td>{r['present']}</td><td>{r['absent']}</td><td>{_f(r['overlap'])}</td><td>{_f(r['conflict'])}</td>"
            f"<td>{_f(r['precision_model'])}</td>"
        )
        if has_dev:
            body += (
                f"<td>{r.get('dev_present', 0)}+/{r.get('dev_absent', 0)}0</td><td>{_f(r.get('precision_dev'))}</td>"
                f"<td>{_f(r.get('absent_accuracy_dev'))}</td>"
            )
        body += "</tr>"
    keys = "".join(
        f"<tr><td>{esc(r['key'])}</td><td>{r['lfs']}</td><td>{100 * r['coverage']:.2f}%</td><td>{r['labeled']}</td>"
        f"<td>{100 * r['labeled_share']:.2f}%</td><td>{r['mean_prob']:.4f}</td></tr>"
        for r in key_rows
    )
    score_html = ""
    if scores:
        score_html = "<h2>Label model vs majority vote on the labeled comments</h2><table><tr><th>method</th>"
        score_html += "<th>micro P</th><th>micro R</th><th>micro F1</th><th>macro F1</th></tr>"
        for name, s in scores.items():
            score_html += (
                f"<tr><td>{esc(name)}</td><td>{s['micro']['precision']:.3f}</td><td>{s['micro']['recall']:.3f}</td>"
                f"<td><b>{s['micro']['f1']:.3f}</b></td><td><b>{s['macro_f1']:.3f}</b></td></tr>"
            )
        score_html += "</table>"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1300px}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{n_comments} comments, {len({r["lf"] for r in lf_rows})} labeling functions, {len(lf_rows)} (LF, key) sources.
Coverage: share of comments an LF votes on; overlap / conflict: share of its votes where another LF votes on the same
key / votes the opposite value; precision (model): the label model's estimate; precision (dev): measured on labeled
comments.</p>
{score_html}
<img src="data:image/png;base64,{_chart(lf_rows, key_rows)}">
<h2>Per key</h2><table><tr><th>key</th><th>LFs</th><th>coverage (any present vote)</th><th>labeled</th>
<th>labeled share</th><th>mean probability</th></tr>{keys}</table>
<h2>Per labeling function</h2><table><tr>{head}</tr>{body}</table>
</body></html>"""
