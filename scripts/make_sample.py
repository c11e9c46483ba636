"""Write data/sample_comments.csv: 300 real comments for the README's main command.

200 Booking.com hotel reviews and 100 CFPB complaint narratives (at most
1,500 characters), drawn with a fixed seed from comments that are *not* in
the annotation pool, so the demo never shows labeled evaluation text.
Rounds 3 and 4 (train only) drew from the corpora later without excluding
the sample, so 33 of its comments are now in train, none in dev or test.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def main() -> None:
    pooled = set()
    for f in ("pool.jsonl", "pool_round2.jsonl"):
        with open(Path("data/annotation") / f, encoding="utf-8") as fh:
            pooled |= {json.loads(line)["id"] for line in fh}
    rng = random.Random(2026)
    rows = []
    for sub, n in (("hotel_reviews_515k", 200), ("cfpb_narratives", 100)):
        (path,) = (CORPORA / sub).glob("*.jsonl.gz")
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            cands = [json.loads(line) for line in fh]
        cands = [r for r in cands if r["id"] not in pooled and len(r["text"]) <= 1500]
        for r in rng.sample(cands, n):
            rows.append({"id": r["id"], "source": sub, "comment": r["text"]})
    rng.shuffle(rows)
    with open("data/sample_comments.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "source", "comment"])
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} comments -> data/sample_comments.csv")


if __name__ == "__main__":
    main()
