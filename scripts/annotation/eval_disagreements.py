"""Disagreements between a blind-read evaluation set's writers and readers, for an adjudicator.

    python scripts/annotation/eval_disagreements.py neg [--size 30]

For the writer folders ``synthetic/<prefix>*`` and their blind readers ``raw/ann<prefix>*`` (the negation set:
``neg``), writes ``batches/<prefix>adj_01.jsonl`` ... with each comment whose two label sets differ: its text and
the two readings as ``reading_1`` / ``reading_2`` in an order drawn per comment (so the adjudicator cannot tell
the writer's from the reader's).  The adjudicator's answers go to ``raw/adj<prefix>/<batch>.jsonl`` and replace
the reader's labels in the gold (``build_dataset.py``).
"""

from __future__ import annotations

import argparse
import random

from build_dataset import ANN, disagreements, read

from cxnlp.data import write_jsonl


def rows(pattern: str) -> dict[str, dict]:
    return {r["id"]: r for f in sorted(ANN.glob(pattern)) for r in read(f)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--size", type=int, default=30)
    ap.add_argument("--seed", type=int, default=20261124)
    args = ap.parse_args()
    written = rows(f"synthetic/{args.prefix}*/part_*.jsonl")
    read_by = rows(f"raw/ann{args.prefix}*/*.jsonl")
    out = []
    for cid in disagreements(written, read_by):
        w, r = written[cid], read_by[cid]
        pair = [{"labels": w["labels"], "evidence": w["evidence"]}, {"labels": r["labels"], "evidence": r["evidence"]}]
        random.Random(f"{args.seed}:{cid}").shuffle(pair)
        out.append({"id": cid, "source": "evaluation", "text": w["text"], "reading_1": pair[0], "reading_2": pair[1]})
    names = []
    for b, start in enumerate(range(0, len(out), args.size), 1):
        name = f"{args.prefix}adj_{b:02d}"
        write_jsonl(ANN / "batches" / f"{name}.jsonl", out[start : start + args.size])
        names.append(name)
    print(f"{len(out)} of {len(read_by)} comments disagree: {' '.join(names)}")


if __name__ == "__main__":
    main()
