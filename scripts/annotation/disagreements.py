"""List the agreement-set comments whose two annotations differ, for adjudication.

python scripts/annotation/disagreements.py      # writes data/annotation/disagreements.jsonl
python scripts/annotation/disagreements.py --show 0 20   # print items 0..19 for reading
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ANN = Path("data/annotation")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--show", nargs=2, type=int, metavar=("FROM", "TO"))
    args = ap.parse_args()
    path = ANN / "disagreements.jsonl"
    if args.show:
        rows = [json.loads(line) for line in path.open(encoding="utf-8")]
        for n, r in enumerate(rows[args.show[0] : args.show[1]], args.show[0]):
            print(f"=== [{n}] id={r['id']} source={r['source']}\n{r['text']}\n")
            for side in ("A", "B"):
                a = r[side]
                print(f"  annotation {side}: {a['labels']}")
                for lab, q in a["evidence"].items():
                    print(f"     {lab}: {q!r}")
                if a.get("note"):
                    print(f"     note: {a['note']}")
            print()
        return
    pool = {json.loads(line)["id"]: json.loads(line) for line in (ANN / "pool.jsonl").open(encoding="utf-8")}
    primary, second = {}, {}
    for d in sorted((ANN / "raw").iterdir()):
        for f in sorted(d.glob("*.jsonl")):
            target = second if f.name.startswith("agree_") else primary
            for line in f.open(encoding="utf-8"):
                rec = json.loads(line)
                target[rec["id"]] = rec
    out = []
    for cid in sorted(set(primary) & set(second)):
        a, b = primary[cid], second[cid]
        if set(a["labels"]) != set(b["labels"]) or a.get("skip") != b.get("skip"):
            keep = ("labels", "evidence", "note", "skip")
            out.append(
                {
                    "id": cid,
                    "source": pool[cid]["source"],
                    "text": pool[cid]["text"],
                    "A": {k: a.get(k) for k in keep},
                    "B": {k: b.get(k) for k in keep},
                }
            )
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    print(f"{len(out)} disagreements of {len(set(primary) & set(second))} -> {path}")


if __name__ == "__main__":
    main()
