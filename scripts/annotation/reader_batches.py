"""Cut a synthetic writer's comments into batches for a blind reader.

    python scripts/annotation/reader_batches.py syn30 [--size 50] [--seed 20261124]

Writes ``data/annotation/batches/<writer>rb_01.jsonl`` ... holding only id, source and text (never the
writer's labels, evidence or notes), in a seeded shuffled order so that the reader does not meet the
comments in the order, or the domain runs, the writer wrote them in.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from cxnlp.data import write_jsonl

ANN = Path("data/annotation")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("writer")
    ap.add_argument("--size", type=int, default=50)
    ap.add_argument("--seed", type=int, default=20261124)
    args = ap.parse_args()
    if args.size < 1:
        ap.error("--size must be at least 1")
    rows = []
    for f in sorted((ANN / "synthetic" / args.writer).glob("part_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append({"id": r["id"], "source": "synthetic_train", "text": r["text"]})
    if not rows:
        raise SystemExit(f"no comments under {ANN / 'synthetic' / args.writer}")
    random.Random(f"{args.seed}:{args.writer}").shuffle(rows)
    out = ANN / "batches"
    names = []
    for b, start in enumerate(range(0, len(rows), args.size), 1):
        name = f"{args.writer}rb_{b:02d}"
        write_jsonl(out / f"{name}.jsonl", rows[start : start + args.size])
        names.append(name)
    print(" ".join(names))


if __name__ == "__main__":
    main()
