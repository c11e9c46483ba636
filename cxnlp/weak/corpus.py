"""Weak-labeling a corpus end to end, and weak labels as training examples.

:func:`weak_label` runs the LFs over comments, fits the label model (on the
corpus, anchored on labeled comments when given) and returns records in the
annotated-data schema (``id``, ``source``, ``text``, ``labels``, ``spans``)
plus ``probs`` (every key's probability), ``confidence`` (per label) and the
LFs behind each span.

:func:`add_weak_examples` turns such records into segment-level soft
examples for :mod:`cxnlp.training` (the same path as distillation): a
segment holding a key's evidence gets that key's probability as target, the
comment's other segments are left out for that key (as with gold spans), and
a key without evidence gets the comment's probability on every segment.
Comments that are also in the labeled data (same id or same normalised text)
are skipped, so evaluation comments never enter training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp.data import normalize, read_jsonl, stable_id
from cxnlp.taxonomy import Taxonomy
from cxnlp.weak.apply import Votes, WeakLabeler
from cxnlp.weak.label_model import LabelModel

MAX_SPANS = 3


# ------------------------------------------------------------------ reading
def read_comments(
    paths: Sequence[str],
    text_column: str | None = None,
    id_column: str | None = None,
    encoding: str = "utf-8",
) -> list[dict[str, Any]]:
    """Comments (``id``, ``source``, ``text``) from exports readable by :func:`cxnlp.io.read_chunks`.

    ``source`` is the file name without extensions.  Rows without an id get
    :func:`cxnlp.data.stable_id` of their text.
    """
    from cxnlp.io import detect_columns, read_chunks

    out: list[dict[str, Any]] = []
    for path in paths:
        source = Path(path).name.split(".")[0] if path != "-" else "stdin"
        text_col = id_col = None
        for df in read_chunks(path, 10_000, encoding=encoding):
            if text_col is None:
                text_col, id_col = detect_columns(list(df.columns), text_column, id_column, path)
            texts = df[text_col].tolist()
            ids = df[id_col].tolist() if id_col else [None] * len(texts)
            for t, i in zip(texts, ids, strict=True):
                text = t if isinstance(t, str) else ("" if t is None or _isnan(t) else str(t))
                rid = str(i) if i is not None and not _isnan(i) else stable_id(text)
                out.append({"id": rid, "source": source, "text": text})
    return out


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


class GoldIndex:
    """Ids and normalised texts of labeled comments, to keep them out of weak data."""

    def __init__(self, records: Iterable[dict[str, Any]] = ()) -> None:
        self.ids: set[str] = set()
        self.texts: set[str] = set()
        for r in records:
            self.add(r)

    def add(self, record: dict[str, Any]) -> None:
        if record.get("id") is not None:
            self.ids.add(str(record["id"]))
        self.texts.add(normalize(record.get("text") or ""))

    def __contains__(self, record: dict[str, Any]) -> bool:
        return str(record.get("id")) in self.ids or normalize(record.get("text") or "") in self.texts

    def __len__(self) -> int:
        return len(self.ids | self.texts)


# ---------------------------------------------------------------- labeling
@dataclass
class WeakLabelResult:
    records: list[dict[str, Any]]
    votes: Votes
    label_model: LabelModel
    probs: np.ndarray
    dev_votes: Votes | None = None
    dev_y: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


def weak_label(
    comments: Sequence[dict[str, Any]],
    labeler: WeakLabeler | None = None,
    dev: Sequence[dict[str, Any]] | None = None,
    label_model: LabelModel | None = None,
    progress: Callable[[int], None] | None = None,
    calibrate: bool = False,
) -> WeakLabelResult:
    """Apply the LFs, fit (or reuse) the label model, build output records.

    ``dev``: labeled records (annotated schema) that anchor and calibrate the
    label model; corpus comments equal to one of them are left out of the fit.
    ``label_model``: an already fitted model (then ``dev`` only scores it).
    ``calibrate``: Platt-scale the label model on ``dev`` too.
    """
    import time

    from cxnlp.data import label_matrix

    labeler = labeler or WeakLabeler()
    taxonomy = labeler.taxonomy
    t0 = time.perf_counter()
    votes = labeler.apply([c["text"] for c in comments], progress=progress)
    timings = {"lfs": time.perf_counter() - t0}
    dev_votes = dev_y = None
    if dev:
        dev_votes = labeler.apply([r["text"] for r in dev])
        dev_y = label_matrix(dev, taxonomy.keys)
    t1 = time.perf_counter()
    if label_model is None:
        label_model = LabelModel(taxonomy)
        if dev:
            gold = GoldIndex(dev)
            keep = [i for i, c in enumerate(comments) if c not in gold]
            label_model.fit(votes.subset(keep), dev_votes, dev_y)
            if calibrate:
                label_model.calibrate(dev_votes, dev_y)
            label_model.fit_thresholds(dev_votes)
        else:
            label_model.fit(votes)
            label_model.fit_thresholds(votes)
    probs = label_model.predict_proba(votes)
    timings["label_model"] = time.perf_counter() - t1
    records = build_records(comments, votes, probs, label_model, taxonomy)
    return WeakLabelResult(records, votes, label_model, probs, dev_votes, dev_y, timings)


def build_records(
    comments: Sequence[dict[str, Any]],
    votes: Votes,
    probs: np.ndarray,
    label_model: LabelModel,
    taxonomy: Taxonomy,
) -> list[dict[str, Any]]:
    keys = list(taxonomy.keys)
    th = label_model.thresholds if label_model.thresholds is not None else np.full(len(keys), 0.5)
    cols_of = {k: votes.columns(k) for k in keys}
    implied_from = {k: [] for k in keys}
    for lab in taxonomy.labels:
        for src in lab.keys:
            for k in (*lab.implies, *lab.implies_any):
                implied_from[k].append(src)
    n_lfs = len({name for name, _ in votes.sources})
    method = f"weak supervision: cxnlp weak-label, {n_lfs} labeling functions, Dawid-Skene label model"
    out = []
    for i, c in enumerate(comments):
        spans_by_key: dict[str, dict[tuple[int, int], list[str]]] = {}
        for k in keys:
            for j in cols_of[k]:
                for span in votes.evidence[i].get(j, ()):
                    spans_by_key.setdefault(k, {}).setdefault(tuple(span), []).append(votes.sources[j][0])
        labels = [k for k_i, k in enumerate(keys) if probs[i, k_i] >= th[k_i]]
        spans = []
        for k in labels:
            found = spans_by_key.get(k) or next((spans_by_key[s] for s in implied_from[k] if s in spans_by_key), {})
            p = round(float(probs[i, keys.index(k)]), 4)
            for (s, e), lfs in list(found.items())[:MAX_SPANS]:
                spans.append({"label": k, "start": s, "end": e, "confidence": p, "lfs": lfs})
        out.append(
            {
                "id": c["id"],
                "source": c.get("source", ""),
                "text": c["text"],
                "labels": labels,
                "spans": spans,
                "confidence": {k: round(float(probs[i, keys.index(k)]), 4) for k in labels},
                "probs": {k: round(float(probs[i, k_i]), 4) for k_i, k in enumerate(keys)},
                "method": method,
                "synthetic": False,
                "weak": True,
            }
        )
    return out


# ----------------------------------------------------------------- training
def add_weak_examples(
    ex,
    path: str | Path,
    keys: Sequence[str],
    weight: float,
    segmenter,
    exclude: Iterable[dict[str, Any]] = (),
    whole: bool = False,
) -> tuple[int, int, int]:
    """Add soft segment examples from a weak-labeled JSONL file to ``ex`` (a :class:`cxnlp.training.Examples`).

    Returns (comments used, segments added, comments skipped because they are labeled data).
    """
    gold = GoldIndex(exclude)
    index = {k: j for j, k in enumerate(keys)}
    k = len(keys)
    used = added = skipped = 0
    for r in read_jsonl(path):
        if r in gold:
            skipped += 1
            continue
        text = r.get("text") or ""
        segs = segmenter.split(text)
        if not segs:
            continue
        probs = r.get("probs") or {}
        p = np.array([float(probs.get(key, 0.0)) for key in keys], dtype=np.float32)
        y = np.tile(p, (len(segs), 1))
        m = np.ones((len(segs), k), dtype=np.int8)
        evidence: dict[str, list[tuple[int, int]]] = {}
        for sp in r.get("spans", []):
            if sp["label"] in index:
                evidence.setdefault(sp["label"], []).append((int(sp["start"]), int(sp["end"])))
        for key, ranges in evidence.items():
            j = index[key]
            hits = [i for i, s in enumerate(segs) if any(s.start < e and st < s.end for st, e in ranges)]
            if hits:
                m[:, j] = 0
                m[hits, j] = 1
        w = weight * float(r.get("weight", 1.0))
        for i, s in enumerate(segs):
            ex.add(s.text, y[i], m[i], w)
            added += 1
        if whole and segs:
            # the document as its segments, as CXModel.pooled_scores scores it
            ex.add(tuple(s.text for s in segs), p, np.ones(k, np.int8), w)
            added += 1
        used += 1
    return used, added, skipped


def load_labeled(path: str | Path, taxonomy: Taxonomy, split: str | None = "dev") -> list[dict[str, Any]]:
    """Labeled comments from a split directory (``split``, or all splits when None) or a labeled file."""
    from cxnlp.data import load_records, read_labeled

    path = Path(path)
    if path.is_dir() and (path / "train.jsonl").exists():
        splits = load_records(path, taxonomy)
        return splits[split] if split else [r for rows in splits.values() for r in rows]
    return read_labeled(path, taxonomy)
