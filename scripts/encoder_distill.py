"""Distillation data for the fast model: an encoder model's probabilities on the unlabeled corpora.

    python scripts/encoder_distill.py models/cx-encoder [--out data/distill/encoder_corpus.jsonl.gz]

Scores every segment of the unlabeled corpora (``../shared/corpora``; every comment that was ever offered
to annotators is left out, so no dev or test text reaches the fast model this way) with the encoder, and
writes each segment's *calibrated* probabilities (the model's Platt scaling; the training targets of
``cxnlp train --distill``).  Segments the encoder gives no key 0.05 are mostly plain narrative; 13 % of
them (drawn by a hash of the text) are kept, so the file holds about 35,000 of the 88,000 segments and the
fast model trains in minutes, not ten.  Runs on a CPU (5 minutes on two cores for session 10's encoder).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cxnlp.data import write_jsonl
from cxnlp.models.model import CXModel
from cxnlp.text import Segmenter

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
DISTILL = Path("data/distill/encoder_corpus.jsonl.gz")


def corpus_segments(segmenter: Segmenter) -> list[str]:
    """Every segment of the corpora's comments, less every comment ever offered to annotators."""
    pooled = set()
    for p in sorted(Path("data/annotation").glob("pool*.jsonl")):  # every round's comments offered to annotators
        pooled |= {json.loads(line)["id"] for line in p.open(encoding="utf-8")}
    out, seen = [], set()
    for f in sorted(CORPORA.glob("*/*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        for r in rows:
            if r["id"] in pooled or r["id"] in seen:
                continue
            seen.add(r["id"])
            out += [s.text for s in segmenter.split(r["text"])]
    return out


MIN_PROB = 0.05
KEEP_PERCENT = 13


def kept(text: str, probs: np.ndarray) -> bool:
    if probs.max() >= MIN_PROB:
        return True
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100 < KEEP_PERCENT


def distill_rows(model: CXModel, texts: list[str], logits: np.ndarray) -> list[dict]:
    """The kept segments with the model's calibrated probabilities (``cxnlp train --distill`` rows).

    Also used by ``scripts/gpu/encoder_pipeline.py assemble`` on logits scored on a GPU.
    """
    probs = model.calibrator.transform(np.asarray(logits, dtype=np.float64))
    return [distill_row(model.keys, t, p) for t, p in zip(texts, probs, strict=True) if kept(t, p)]


def distill_row(keys: list[str], text: str, probs: np.ndarray) -> dict:
    """One ``cxnlp train --distill`` row: the segment and its keys' probabilities of 0.005 or more."""
    return {"text": text, "probs": {k: round(float(v), 3) for k, v in zip(keys, probs, strict=True) if v >= 0.005}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", help="an encoder model directory (cxnlp train --config configs/encoder.toml)")
    ap.add_argument("--out", default=str(DISTILL))
    ap.add_argument("--batch-size", type=int, default=2048)
    args = ap.parse_args()
    model = CXModel.load(args.model)
    texts = corpus_segments(model.segmenter)
    logits = np.zeros((len(texts), len(model.keys)), np.float32)
    for i in tqdm(range(0, len(texts), args.batch_size), desc="scoring the corpora", unit="batch"):
        logits[i : i + args.batch_size] = model.scorer.decision_function(texts[i : i + args.batch_size])
    rows = distill_rows(model, texts, logits)
    write_jsonl(args.out, rows)
    print(f"{len(rows)} of {len(texts)} segments -> {args.out}")


if __name__ == "__main__":
    main()
