"""Distillation data from an ensemble instead of the encoder alone (session 11; not adopted).

    python scripts/experiments/ensemble_distill.py models/cx-accurate /tmp/ens_distill.jsonl.gz
    cxnlp train --out /tmp/ensdist --seed 0 --distill /tmp/ens_distill.jsonl.gz

Scores the segments of ``data/distill/encoder_corpus.jsonl.gz`` (the same 31,500, for a like-for-like
comparison) with the ensemble, each segment as a comment, and writes its calibrated probabilities in the
same format.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

from cxnlp.data import write_jsonl
from cxnlp.models.model import CXModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encoder_distill import distill_row  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", help="an ensemble (cxnlp ensemble) or any model directory")
    ap.add_argument("out")
    ap.add_argument("--segments", default="data/distill/encoder_corpus.jsonl.gz")
    args = ap.parse_args()
    model = CXModel.load(args.model)
    with gzip.open(args.segments, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    probs = np.vstack([model.predict_proba(texts[i : i + 2048]) for i in range(0, len(texts), 2048)])
    rows = [distill_row(model.keys, t, p) for t, p in zip(texts, probs, strict=True)]
    write_jsonl(args.out, rows)
    print(f"{len(rows)} segments -> {args.out}")


if __name__ == "__main__":
    main()
