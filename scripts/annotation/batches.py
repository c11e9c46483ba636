"""Cut the annotation pool into batches and assign them to annotators.

Every comment gets one primary annotation.  An agreement set of comments (at
least 300) is also given to a second annotator, who never sees the first
annotation; the two are compared by ``agreement.py`` and adjudicated.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path("data/annotation")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=40)
    ap.add_argument("--agreement", type=int, default=320)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pool", type=Path, default=ROOT / "pool.jsonl")
    ap.add_argument("--prefix", default="batch")
    ap.add_argument("--agree-prefix", default="agree", help="name of the agreement batches (agree_0, ...)")
    ap.add_argument("--names", nargs="*", help="annotator ids (default ann0..annN-1)")
    ap.add_argument("--assignment", type=Path, default=ROOT / "assignment.json")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.pool.open(encoding="utf-8")]
    names = args.names or [f"ann{i}" for i in range(args.annotators)]
    out = ROOT / "batches"
    out.mkdir(parents=True, exist_ok=True)
    assignment: dict[str, list[str]] = {a: [] for a in names}
    owner: dict[str, str] = {}
    for b, start in enumerate(range(0, len(rows), args.batch_size)):
        name = f"{args.prefix}_{b:03d}"
        chunk = rows[start : start + args.batch_size]
        ann = names[b % len(names)]
        assignment[ann].append(name)
        for r in chunk:
            owner[r["id"]] = ann
        (out / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chunk), encoding="utf-8"
        )
    # Agreement set: a seeded sample of the pool, re-annotated by a different
    # annotator (the one three places along), so no one sees their own work.
    rng = random.Random(args.seed)
    agree = rng.sample(rows, args.agreement)
    per = args.agreement // len(names) if args.agreement else 0
    for i in range(len(names) if per else 0):
        second = names[i]
        candidates = [r for r in agree if owner[r["id"]] != second and not r.get("_taken")]
        chunk = candidates[:per]
        for r in chunk:
            r["_taken"] = True
        name = f"{args.agree_prefix}_{i}"
        (out / f"{name}.jsonl").write_text(
            "".join(
                json.dumps({k: v for k, v in r.items() if k != "_taken"}, ensure_ascii=False) + "\n" for r in chunk
            ),
            encoding="utf-8",
        )
        assignment[second].append(name)
    args.assignment.write_text(json.dumps(assignment, indent=1) + "\n")
    for a, bs in assignment.items():
        n = sum(1 for b in bs for _ in (out / f"{b}.jsonl").open())
        print(a, len(bs), "batches", n, "comments")


if __name__ == "__main__":
    main()
