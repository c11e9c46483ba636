"""How much of a score change is the labels': one model, one set of thresholds, scored against two labelings.

    python scripts/experiments/relabel_effect.py MODEL [MODEL ...] [--old-rev 6d971de^]

Scores dev and test (all, CFPB narratives, hotel reviews) against the split files at ``--old-rev`` (by
default the commit before round 5 was applied: the first reading) and against today's files (the second
reading and adjudication). Both labelings share ids and texts, so the predictions are made once per model.
Micro F1 / macro F1 (over the keys present in that labeling), as ``cxnlp evaluate`` reports them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from cxnlp import Tagger
from cxnlp.evaluation import micro_macro_f1


def rows_at(rev: str | None, split: str) -> list[dict]:
    path = Path(f"data/annotated/{split}.jsonl")
    if rev:
        text = subprocess.run(["git", "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout
    else:
        text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--old-rev", default="6d971de^")
    args = ap.parse_args()
    for m in args.models:
        model = Tagger.load(m).model
        keys = list(model.keys)
        cells = []
        for split in ("dev", "test"):
            old, new = rows_at(args.old_rev, split), {r["id"]: r for r in rows_at(None, split)}
            preds = model.analyse([r["text"] for r in old])
            P = np.array([[k in p.keys for k in keys] for p in preds], dtype=np.int8)
            for src in ("", "cfpb", "hotel"):
                ix = [i for i, r in enumerate(old) if r["source"].startswith(src)]
                for tag, recs in (("first", [old[i] for i in ix]), ("now", [new[old[i]["id"]] for i in ix])):
                    Y = np.array([[k in r["labels"] for k in keys] for r in recs], dtype=np.int8)
                    micro, macro = micro_macro_f1(Y, P[ix])
                    cells.append(f"{split}{'-' + src if src else ''} {tag} {micro:.3f} / {macro:.3f}")
        print(m + " | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
