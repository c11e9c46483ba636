"""Rounds 5-9: a second, blind reading of comments read once, and the adjudication of what differs.

    python scripts/annotation/reread.py batches [--round 6]        # rNread_* batches + assignment_roundN.json
    python scripts/annotation/reread.py disagreements [--round 6]  # rNadj_* batches: the two readings differ
    python scripts/annotation/reread.py show r5adj_000             # print an adjudication batch for reading

Round 5 read dev and test again; round 6 the train comments of rounds 1-2 (rounds 3-4 were drawn and read
after the rulings below, and round 4 followed them); round 7 the four out-of-domain evaluation splits, whose
synthetic comments were read blind in sessions 4-9, before the rulings; round 8 the synthetic training comments
with a negative label or a sin (their first reading is the union of the writer's and a blind reader's labels,
also from before the rulings); round 9 the other synthetic training comments (positive labels only, or none).

    .venv/bin/python scripts/annotation/reread.py ...   # it reads the taxonomy through cxnlp

Dev and test were annotated once, in rounds 1-2, before the adjudication's rulings and the settled open
questions (ANNOTATOR_BRIEF.md, "Rulings since round 1"); round 4 of train follows them. A second annotator
reads each evaluation comment blind (no earlier labels, no model output); where the two readings differ, an
adjudicator sees both (as A and B, in a seeded random order, so the earlier reading is not favoured) and
decides. ``build_dataset.py`` applies the result after the splits are assigned, so no comment changes split.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# the splits each round reads again, and how build_dataset.py collects the readings: one definition for both
from build_dataset import ANN, OOD_SPLITS, REREAD_ROUNDS, TRAIN_SYNTHETIC_ROUNDS, read, round_readings

SPLITS = Path("data/annotated")
# round: (its readers, its adjudicators); the assignment files say who took which batch (round 6's r6adj_017-019
# went to adj15-adj17, round 7's adjudication waves to adj18-adj28 as helpers became free)
ROUNDS = {
    5: ([f"ann{i}" for i in range(22, 30)], [f"adj{i}" for i in range(1, 7)]),
    6: ([f"ann{i}" for i in range(30, 38)], [f"adj{i}" for i in range(7, 15)]),
    7: ([f"ann{i}" for i in range(38, 46)], [f"adj{i}" for i in range(18, 29)]),
    8: ([f"ann{i}" for i in range(46, 54)], [f"adj{i}" for i in range(29, 37)]),
    9: ([f"ann{i}" for i in range(54, 62)], [f"adj{i}" for i in range(37, 47)]),
}
BATCH = 25
SEED = 15


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def first_rows(n: int) -> list[dict]:
    """The comments round ``n`` reads again, with their first reading (train: the round 1-2 comments; the
    out-of-domain splits: all of them; the synthetic training comments: round 8 those with a negative label or
    a sin, round 9 the rest)."""
    early = {r["id"] for f in ("pool.jsonl", "pool_round2.jsonl") for r in read(ANN / f)}

    def reads(split: str, r: dict) -> bool:
        if split == "train":
            return r["id"] in early
        if split == "train_synthetic":
            # round 8 a negative skill or a sin, what the rulings are about, round 9 the rest (the first
            # reading's labels choose the comments; the reader never sees them)
            return any(not k.endswith("+") for k in r["labels"]) == (n == TRAIN_SYNTHETIC_ROUNDS[0])
        return split in OOD_SPLITS

    every = [(s, r) for s in REREAD_ROUNDS[n] for r in read(SPLITS / f"{s}.jsonl")]
    # Both steps compare against the first reading; once build_dataset.py has applied the round the split
    # files hold the result instead, and rerunning a step would compare the second reading with itself.
    # Rounds 8 and 9 share a file and choose their comments by its labels: either one applied moves the other's.
    same_file = [m for m, splits in REREAD_ROUNDS.items() if splits == REREAD_ROUNDS[n]]
    if any(f"(round {m}:" in r["annotator"] for _, r in every for m in same_file):
        raise SystemExit(
            f"data/annotated/{REREAD_ROUNDS[n][0]}.jsonl holds a second reading already; round {n}'s "
            "batches need the first (python scripts/annotation/build_dataset.py --apply-rounds ...)"
        )
    return [r for s, r in every if reads(s, r)]


def make_batches(prefix: str, rows: list[dict], names: list[str], assignment: Path) -> None:
    """Cut ``rows`` into new batches after any ``prefix`` batches already written (readings can arrive in
    waves), and add them to ``assignment``, round robin."""
    recorded: dict[str, list[str]] = json.loads(assignment.read_text()) if assignment.exists() else {}
    # names that took batches outside the round's list (round 6's adj15-adj17) keep their entries
    out = {n: [] for n in names} | recorded
    first = len(list((ANN / "batches").glob(f"{prefix}_*.jsonl")))
    for b, start in enumerate(range(0, len(rows), BATCH), first):
        name = f"{prefix}_{b:03d}"
        write_jsonl(ANN / "batches" / f"{name}.jsonl", rows[start : start + BATCH])
        out[names[b % len(names)]].append(name)
    assignment.write_text(json.dumps(out, indent=1) + "\n")
    for n, bs in out.items():
        print(n, len(bs), "batches")


def batches(n: int) -> None:
    # Text only: the reader must not see the first reading's labels, nor which split a comment is in.
    rows = [{"id": r["id"], "source": r["source"], "text": r["text"]} for r in first_rows(n)]
    random.Random(SEED).shuffle(rows)
    make_batches(f"r{n}read", rows, ROUNDS[n][0], ANN / f"assignment_round{n}.json")


def first_reading(r: dict) -> dict:
    evidence = {s["label"]: r["text"][s["start"] : s["end"]] for s in r["spans"]}
    return {"labels": r["labels"], "evidence": evidence, "note": r.get("note", "")}


def disagreements(n: int) -> None:
    second, _ = round_readings(n)
    # comments already in an adjudication batch (an earlier wave) are not batched again
    batched = {r["id"] for f in (ANN / "batches").glob(f"r{n}adj_*.jsonl") for r in read(f)}
    rng = random.Random(SEED + len(batched))
    out, missing = [], 0
    for r in first_rows(n):
        if r["id"] not in second:
            missing += 1
            continue
        if r["id"] in batched:
            continue
        b = second[r["id"]]
        if set(b["labels"]) == set(r["labels"]) and not b.get("skip"):
            continue
        pair = [first_reading(r), {k: b.get(k) for k in ("labels", "evidence", "note", "skip")}]
        if rng.random() < 0.5:
            pair.reverse()
        out.append({"id": r["id"], "source": r["source"], "text": r["text"], "A": pair[0], "B": pair[1]})
    rng.shuffle(out)
    make_batches(f"r{n}adj", out, ROUNDS[n][1], ANN / f"assignment_round{n}_adjudication.json")
    print(f"{len(out)} more comments differ; {missing} not read yet")


def show(name: str) -> None:
    for n, r in enumerate(read(ANN / "batches" / f"{name}.jsonl")):
        print(f"=== [{n}] id={r['id']} source={r['source']}\n{r['text']}\n")
        for side in ("A", "B"):
            a = r[side]
            print(f"  reading {side}: {a['labels']}")
            for lab, q in (a.get("evidence") or {}).items():
                print(f"     {lab}: {q!r}")
            if a.get("note"):
                print(f"     note: {a['note']}")
        print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["batches", "disagreements", "show"])
    ap.add_argument("name", nargs="?")
    ap.add_argument("--round", type=int, default=5, choices=sorted(ROUNDS))
    args = ap.parse_args()
    if args.step == "show":
        show(args.name)
    else:
        {"batches": batches, "disagreements": disagreements}[args.step](args.round)


if __name__ == "__main__":
    main()
