"""Build data/annotated/{train,dev,test}.jsonl, the agreement study and the data card.

    python scripts/annotation/build_dataset.py [--readers [NAME ...]]

Steps: read every annotator's output; turn evidence quotes into verified
character offsets; compare the two independent annotations of the agreement
set (per-label F1 between annotators and Cohen's kappa); take the adjudicated
labels for that set where adjudication exists; group exact and near-duplicate
texts; assign splits 65/15/20 by iterative stratification over the labels
(grouped, so duplicates never straddle splits); write the splits, statistics
and the data card ``data/README.md``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from cxnlp.data import iterative_stratification, near_duplicate_pairs, normalize, write_jsonl
from cxnlp.taxonomy import Taxonomy

ANN = Path("data/annotation")
OUT = Path("data/annotated")
PROPORTIONS = {"train": 0.65, "dev": 0.15, "test": 0.20}
SEED = 13
GUIDELINE = "1.1"
METHOD = "LLM annotator agent (Claude), every comment read in full, labels decided by reading, guideline 1.1"
SYN_METHOD = "synthetic: written and labelled by an LLM writer agent (Claude) under guideline 1.1 (SYNTHETIC_BRIEF.md)"
SYN_READ_METHOD = (
    "synthetic: written and labelled by an LLM writer agent (Claude) under guideline 1.1; read blind by a separate "
    "LLM annotator agent; labels are the union of both"
)
# Which writers wrote each round of synthetic comments (their folders synthetic/synN), so that the data
# card can report each round's writer-vs-reader agreement from the files.
SYNTHETIC_ROUNDS = {
    1: range(0, 8),
    2: range(8, 14),
    3: range(14, 18),
    4: range(18, 25),
    5: range(25, 32),
    6: range(32, 39),
    7: range(39, 43),
}
# Rounds kept out of training and used as an out-of-domain evaluation set instead (ood_wide_dev/test):
# round 6 (session 9) lowered ood_dev F1 with both seeds when trained on, and its 42 domains are ones
# no training writer used, so it measures out-of-domain quality on a much wider spread than ood_*.
EVAL_ROUNDS = {6}
# Rounds 5-7 (sessions 15-16): comments read once before the rulings read a second time, blind, and the
# differences adjudicated (scripts/annotation/reread.py): round 5 dev and test, round 6 train's rounds 1-2,
# round 7 the out-of-domain evaluation splits (synthetic comments whose gold was one blind reader's).
# Rounds 8-9 (session 17) the synthetic training comments, whose first reading (writer + blind reader,
# sessions 4-9) predates the rulings: round 8 those with a negative label or a sin (what the rulings are
# nearly all about), round 9 the rest.
OOD_SPLITS = ("ood_dev", "ood_test", "ood_wide_dev", "ood_wide_test")
OOD_ROUND = 7
# the two rounds over train_synthetic: the first reads the comments with a negative label or a sin
TRAIN_SYNTHETIC_ROUNDS = (8, 9)
REREAD_ROUNDS = {
    5: ("dev", "test"),
    6: ("train",),
    OOD_ROUND: OOD_SPLITS,
    **dict.fromkeys(TRAIN_SYNTHETIC_ROUNDS, ("train_synthetic",)),
}
# rounds over files that synthetic_sets() writes: applied after it, on what it wrote
SYNTHETIC_REREAD_ROUNDS = (OOD_ROUND, *TRAIN_SYNTHETIC_ROUNDS)
# Rounds whose result replaces the first reading: 5 and 7, the evaluation splits, and 8-9, the synthetic training
# comments (trained on, ood_dev micro F1 +0.033 / +0.009 over two seeds, dev within noise). Round 6 is recorded
# (agreement, label changes) but not applied: trained on, it raised dev F1 and lowered ood_dev with two seeds, on
# round 7's labels and with rounds 8-9 too (docs/experiments.md, sessions 15-17); `--apply-rounds 5 6 7 8 9`
# builds with it.
APPLIED_REREAD_ROUNDS = (5, 7, 8, 9)
REREAD_METHOD = (
    "LLM annotator agents (Claude), every comment read in full by two annotators independently, labels decided "
    "by reading, differences adjudicated by a third; guideline 1.1 with the project's rulings (ANNOTATOR_BRIEF.md)"
)
# Gold rounds drawn after the splits were fixed (pool_round3.jsonl, pool_round4.jsonl): train only.
LATE_ROUNDS = (3, 4)


def round_of(writer: str) -> int:
    n = int(writer.removeprefix("syn"))
    return next(r for r, writers in SYNTHETIC_ROUNDS.items() if n in writers)


OOD_METHOD = (
    "synthetic: written by an LLM writer agent (Claude); labelled blind by a separate LLM annotator agent, "
    "every comment read in full, guideline 1.1"
)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def disagreements(written: dict[str, dict], read_by: dict[str, dict]) -> list[str]:
    """Ids whose writer's and blind reader's label sets differ: what an evaluation set's adjudicator decides
    (eval_disagreements.py writes them out; evaluation_set() checks the adjudications cover exactly these)."""
    return sorted(i for i in read_by if set(read_by[i]["labels"]) != set(written[i]["labels"]))


def spans_for(text: str, rec: dict, where: str) -> list[dict]:
    out = []
    for lab in rec["labels"]:
        quote = rec["evidence"][lab]
        start = text.find(quote)
        if start < 0:
            raise ValueError(f"{where}: evidence for {lab} not found in text: {quote!r}")
        out.append({"label": lab, "start": start, "end": start + len(quote)})
    return out


def kappa(a: np.ndarray, b: np.ndarray) -> float | None:
    n = len(a)
    po = float(np.mean(a == b))
    pa, pb = a.mean(), b.mean()
    pe = pa * pb + (1 - pa) * (1 - pb)
    if pe >= 1:
        return None  # both annotators never (or always) used the label: kappa undefined
    return (po - pe) / (1 - pe) if n else None


def agreement_study(primary: dict, second: dict, adjudicated: dict, both: list[str], keys: list[str]) -> dict:
    """Per-label F1 and Cohen's kappa between the two independent annotations of ``both``."""
    if not both:
        return {"comments": 0}
    A = np.array([[k in primary[i]["labels"] for k in keys] for i in both], dtype=int)
    B = np.array([[k in second[i]["labels"] for k in keys] for i in both], dtype=int)
    agreement = {"comments": len(both), "per_label": {}}
    for j, k in enumerate(keys):
        tp = int((A[:, j] & B[:, j]).sum())
        d = int(A[:, j].sum() + B[:, j].sum())
        kp = kappa(A[:, j], B[:, j])
        agreement["per_label"][k] = {
            "a": int(A[:, j].sum()),
            "b": int(B[:, j].sum()),
            "f1": round(2 * tp / d, 3) if d else None,
            "kappa": None if kp is None else round(kp, 3),
        }
    tp, d = int((A & B).sum()), int(A.sum() + B.sum())
    agreement["micro_f1"] = round(2 * tp / d, 3) if d else None
    ks = [v["kappa"] for v in agreement["per_label"].values() if v["kappa"] is not None]
    agreement["mean_kappa"] = round(float(np.mean(ks)), 3) if ks else None
    agreement["exact_match"] = round(float(np.mean((A == B).all(axis=1))), 3) if len(both) else None
    agreement["adjudicated"] = len(set(adjudicated) & set(both))
    return agreement


def main(readers: list[str] | None = None, applied: tuple[int, ...] = APPLIED_REREAD_ROUNDS) -> None:
    if readers is not None and set(TRAIN_SYNTHETIC_ROUNDS) & set(applied):
        # rounds 8-9 were adjudicated against the writer+reader union; another first reading has disagreements
        # nobody adjudicated, and applying them would replace the labels being compared anyway
        applied = tuple(n for n in applied if n not in TRAIN_SYNTHETIC_ROUNDS)
        print(f"--readers: rounds {TRAIN_SYNTHETIC_ROUNDS} not applied (read against the union)")
    tax = Taxonomy.default()
    keys = list(tax.keys)
    pool = {r["id"]: r for f in ("pool.jsonl", "pool_round2.jsonl") if (ANN / f).exists() for r in read(ANN / f)}
    # Rounds 3 and 4 came after the splits were fixed and go to train only, so that dev and test stay
    # byte-identical and every earlier figure stays comparable.
    late_rounds = {
        n: {r["id"]: r for r in read(ANN / f"pool_round{n}.jsonl")}
        for n in LATE_ROUNDS
        if (ANN / f"pool_round{n}.jsonl").exists()
    }
    round3 = {i: r for rows in late_rounds.values() for i, r in rows.items()}
    pool.update(round3)
    primary: dict[str, dict] = {}
    second: dict[str, dict] = {}
    for ann_dir in sorted((ANN / "raw").iterdir()):
        if ann_dir.name.startswith(("annood", "annneg", "annsyn", "adj")):
            # blind labels of synthetic comments (synthetic_sets()); rounds 5-9 adjudication (reread()) and the
            # negation set's (synthetic_sets())
            continue
        for f in sorted(ann_dir.glob("*.jsonl")):
            if re.match(r"r\d+read_", f.name):
                continue  # a second reading (rounds 5-9), applied by reread() after the split
            target = second if "agree_" in f.name else primary
            for rec in read(f):
                rec["annotator"] = ann_dir.name
                target[rec["id"]] = rec
    adjudicated = {r["id"]: r for r in read(ANN / "adjudicated.jsonl")} if (ANN / "adjudicated.jsonl").exists() else {}

    # ------------------------------------------------------------ agreement
    both = sorted((set(primary) & set(second)) - set(round3))
    agreement = agreement_study(primary, second, adjudicated, both, keys)
    late_agreement = {
        n: agreement_study(primary, second, adjudicated, sorted(set(primary) & set(second) & set(rows)), keys)
        for n, rows in late_rounds.items()
    }

    # ------------------------------------------------------------- records
    records, skipped = [], 0
    for cid, rec in primary.items():
        src = pool[cid]
        final = adjudicated.get(cid, rec)
        if final.get("skip"):
            skipped += 1
            continue
        annot = rec["annotator"]
        if cid in second:
            annot = f"{rec['annotator']}+{second[cid]['annotator']}"
            if cid in adjudicated:
                annot += f" (adjudicated by {adjudicated[cid].get('adjudicator', 'adj')})"
        labels = sorted(set(final["labels"]), key=keys.index)
        records.append(
            {
                "id": cid,
                "source": src["source"],
                "text": src["text"],
                "labels": labels,
                "spans": spans_for(src["text"], {"labels": labels, "evidence": final["evidence"]}, cid),
                "annotator": annot,
                "method": METHOD,
                "guideline": GUIDELINE,
                "sampling": src["strategy"],
                "note": final.get("note", "") or "",
                "synthetic": False,
            }
        )
    records.sort(key=lambda r: r["id"])

    # ------------------------------------------------ duplicates and splits
    late = [r for r in records if r["id"] in round3]
    records = [r for r in records if r["id"] not in round3]
    norm = [normalize(r["text"]) for r in records]
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    exact = 0
    for i, t in enumerate(norm):
        if t in first:
            parent[find(i)] = find(first[t])
            exact += 1
        else:
            first[t] = i
    # One near-duplicate search over every round: pairs among rounds 1-2 group the split, pairs that
    # touch round 3 decide which round-3 comments are dropped (below).
    n_old = len(records)
    pairs = [tuple(sorted(p)) for p in near_duplicate_pairs([r["text"] for r in records + late], threshold=0.8)]
    near = [(i, j) for i, j in pairs if j < n_old]
    for i, j in near:
        parent[find(i)] = find(j)
    groups = [find(i) for i in range(len(records))]
    assign = iterative_stratification([r["labels"] for r in records], PROPORTIONS, seed=SEED, groups=groups)
    by_split = defaultdict(list)
    for r, s in zip(records, assign, strict=True):
        by_split[s].append(r)
    # Round 3 joins train, except comments that duplicate (exactly or nearly) one already in any
    # split: those are dropped, so that no text straddles train and dev/test.
    clash = {j - n_old for _, j in pairs if j >= n_old}  # of two round-3 near-duplicates the first is kept
    seen, kept3 = set(norm), []
    for n, r in enumerate(late):
        t = normalize(r["text"])
        if n not in clash and t not in seen:
            seen.add(t)
            kept3.append(r)
    records = records + kept3
    by_split["train"] = sorted(by_split["train"] + kept3, key=lambda r: r["id"])
    # rounds of the gold splits here; rounds 7-9 read files that synthetic_sets() writes below
    reread_rounds = {
        n: reread(by_split, keys, n, apply=n in applied) for n in REREAD_ROUNDS if n not in SYNTHETIC_REREAD_ROUNDS
    }
    for s in PROPORTIONS:
        write_jsonl(OUT / f"{s}.jsonl", by_split[s])

    # ---------------------------------------------------------- statistics
    counts = {s: Counter(lab for r in by_split[s] for lab in r["labels"]) for s in PROPORTIONS}
    stats = {
        "comments": {s: len(by_split[s]) for s in PROPORTIONS},
        "total": len(records),
        "skipped": skipped,
        "no_label_share": round(sum(not r["labels"] for r in records) / len(records), 3),
        "sources": dict(Counter(r["source"] for r in records)),
        "sampling": dict(Counter(r["sampling"].split(":")[0] for r in records)),
        "exact_duplicates_grouped": exact,
        "near_duplicate_pairs_grouped": len(near),
        "per_label": {k: {s: counts[s][k] for s in PROPORTIONS} for k in keys},
        "agreement": agreement,
    }
    for n, rows in late_rounds.items():
        kept = [r for r in kept3 if r["id"] in rows]
        annotated = sum(r["id"] in rows for r in late)
        stats[f"round{n}"] = {
            "annotated": annotated,
            "kept_in_train": len(kept),
            "dropped_as_duplicates": annotated - len(kept),
            "per_label": dict(Counter(lab for r in kept for lab in r["labels"])),
            "agreement": late_agreement[n],
        }
    stats.update({f"round{n}": study for n, study in reread_rounds.items() if study})
    stats["synthetic"] = synthetic_sets(keys, readers)
    # Rounds 7-9 re-read the out-of-domain splits and the synthetic training comments that
    # synthetic_sets() has just written from their first reading; like round 5 they are applied after the
    # split assignment.
    for n in SYNTHETIC_REREAD_ROUNDS:
        written = {s: read(OUT / f"{s}.jsonl") for s in REREAD_ROUNDS[n] if (OUT / f"{s}.jsonl").exists()}
        if not written:
            continue
        study = reread(written, keys, n, apply=n in applied)
        if study:
            stats[f"round{n}"] = study
        for s, rows in written.items():
            write_jsonl(OUT / f"{s}.jsonl", rows)
    (ANN / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    short = [k for k in keys if counts["train"][k] < 40 or counts["test"][k] < 12]
    write_card(stats, keys, short)
    print(json.dumps({k: stats[k] for k in ("comments", "total", "skipped", "no_label_share")}))
    print("labels below 40 train / 12 test:", ", ".join(short) or "none")
    print(
        f"agreement: {agreement['comments']} comments, micro F1 {agreement['micro_f1']}, "
        f"mean kappa {agreement['mean_kappa']}"
    )


def round_readings(n: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Round ``n``'s second readings (``annotator``: the reader) and adjudications (``adjudicator``), by id."""
    second: dict[str, dict] = {}
    adjudicated: dict[str, dict] = {}
    for d in sorted((ANN / "raw").iterdir()):
        for f in sorted(d.glob(f"r{n}read_*.jsonl")):
            second.update({r["id"]: {**r, "annotator": d.name} for r in read(f)})
        if d.name.startswith("adj"):
            for f in sorted(d.glob(f"r{n}adj_*.jsonl")):
                adjudicated.update({r["id"]: {**r, "adjudicator": d.name} for r in read(f)})
    return second, adjudicated


def reread(by_split: dict[str, list[dict]], keys: list[str], n: int, apply: bool = True) -> dict:
    """Round ``n`` (5 to 9): replace the labels of the comments it read again by the second reading where
    both readings agree, else by the adjudication (``scripts/annotation/reread.py``). Applied after the split
    assignment, which was made on the first reading, so that no comment changes split. Returns the
    first-vs-second agreement study (``apply=False``: the study only, the records keep their first reading)."""
    second, adjudicated = round_readings(n)
    if not second:
        return {}
    rows = [r for s in REREAD_ROUNDS[n] for r in by_split[s] if r["id"] in second]
    read_twice = sorted(r["id"] for r in rows)
    first = {r["id"]: r for r in rows}
    study = agreement_study(first, second, adjudicated, read_twice, keys)
    study["by_source"] = {
        src: {
            k: v
            for k, v in agreement_study(
                first, second, {}, [i for i in read_twice if first[i]["source"] == src], keys
            ).items()
            if k in ("comments", "micro_f1", "exact_match")
        }
        for src in sorted({first[i]["source"] for i in read_twice})
    }
    study["differ"] = sum(set(first[i]["labels"]) != set(second[i]["labels"]) for i in read_twice)
    before = Counter(k for r in rows for k in r["labels"])
    changed, after = Counter(), Counter()
    pending = 0
    for r in rows:
        b = second[r["id"]]
        if set(b["labels"]) == set(r["labels"]) and not b.get("skip"):
            final, how = b, f"{r['annotator']}+{b['annotator']} (round {n}: second reading agreed)"
        elif r["id"] in adjudicated:
            final = adjudicated[r["id"]]
            how = f"{r['annotator']}+{b['annotator']} (round {n}: adjudicated by {final['adjudicator']})"
        elif not apply:
            # a round still being adjudicated can be recorded, not applied: its pending comments are counted
            # and keep their first reading
            pending += 1
            after.update(r["labels"])
            continue
        else:
            raise ValueError(f"{r['id']}: the two readings differ and there is no round-{n} adjudication yet")
        labels = sorted(set(final["labels"]), key=keys.index)
        for k in set(labels) ^ set(r["labels"]):
            changed[("+" if k in labels else "-") + k] += 1
        after.update(labels)
        if not apply:
            continue
        r.update(
            labels=labels,
            spans=spans_for(r["text"], {"labels": labels, "evidence": final["evidence"]}, r["id"]),
            annotator=how,
            # a synthetic comment keeps what its method says of its writing
            method=f"{r['method']}; read again: {REREAD_METHOD}" if r.get("synthetic") else REREAD_METHOD,
            note=final.get("note", "") or "",
        )
    study["changed_labels"] = dict(sorted(changed.items()))
    study["applied"] = apply
    if pending:
        study["pending_adjudication"] = pending
    study["labels_before_after"] = {k: [before[k], after[k]] for k in keys}
    return study


def synthetic_sets(keys: list[str], readers: list[str] | None = None) -> dict:
    """Write train_synthetic.jsonl and the out-of-domain ood_dev/ood_test and ood_wide_dev/ood_wide_test splits.

    Training comments were written *and* labelled by writer agents (one
    per domain group), then read blind by annotator agents; their labels are
    the union of the writer's and the reader's (``readers`` limits which
    readers are joined; an empty list gives the writers' labels alone).
    Out-of-domain comments were written by another writer
    in domains no training writer used, then labelled blind by an annotator
    who never saw the writer's labels; the annotator's labels are the gold,
    and agreement with the writer's intended labels is reported.  The rounds
    in ``EVAL_ROUNDS`` were written like training rounds and read blind the
    same way, but only their readers' labels are kept, as the ood_wide gold.
    """
    syn = ANN / "synthetic"
    written_all: dict[str, dict] = {}
    for d in sorted(p for p in syn.iterdir() if p.is_dir() and re.fullmatch(r"syn\d+", p.name)):
        for f in sorted(d.glob("part_*.jsonl")):
            for rec in read(f):
                written_all[rec["id"]] = {**rec, "writer": d.name}
    # Blind readings of the training comments (every round, since session 8): a reader labels what the
    # text supports, where a writer tends to give only the labels it set out to write (readers gave 6-25 %
    # more labels than writers in every round; stats.json synthetic.qa_by_round), so the union misses
    # fewer positives.
    read_all: dict[str, dict] = {}
    for d in sorted((ANN / "raw").glob("annsyn*")):
        for f in sorted(d.glob("*.jsonl")):
            for r in read(f):
                if r["id"] not in written_all:
                    raise SystemExit(f"{f}: {r['id']} is not a synthetic comment")
                if r["id"] in read_all:
                    raise SystemExit(f"{f}: {r['id']} was also read by {read_all[r['id']]['annotator']}")
                if not r.get("skip"):
                    read_all[r["id"]] = {**r, "annotator": d.name}
    wide = {i for i, r in written_all.items() if round_of(r["writer"]) in EVAL_ROUNDS}
    written_train = {i: r for i, r in written_all.items() if i not in wide}
    all_read = {i: r for i, r in read_all.items() if i not in wide}
    unknown = set(readers or []) - {r["annotator"] for r in all_read.values()}
    if unknown:
        raise SystemExit(f"--readers: no readings by {', '.join(sorted(unknown))} under {ANN / 'raw'}")
    read_by = {i: r for i, r in all_read.items() if readers is None or r["annotator"] in readers}
    train = []
    for cid, rec in written_train.items():
        labels, evidence, who, method = set(rec["labels"]), dict(rec["evidence"]), rec["writer"], SYN_METHOD
        if cid in read_by:
            # The union: a label either gave, each with its own quote (the writer's where both gave it).
            labels |= set(read_by[cid]["labels"])
            evidence = {**read_by[cid].get("evidence", {}), **evidence}
            who, method = f"{who}+{read_by[cid]['annotator']}", SYN_READ_METHOD
        labels = sorted(labels, key=keys.index)
        train.append(synthetic_record(rec, labels, evidence, who, method, "synthetic:train"))
    write_jsonl(OUT / "train_synthetic.jsonl", train)
    out = {"train": len(train), "train_per_label": dict(Counter(lab for r in train for lab in r["labels"]))}
    out["qa"] = writer_vs_reader(keys, written_train, all_read)
    out["qa_by_round"] = {}
    for n in SYNTHETIC_ROUNDS:
        ids = {i for i, r in written_all.items() if round_of(r["writer"]) == n}
        qa = writer_vs_reader(keys, written_all, {i: r for i, r in read_all.items() if i in ids})
        if qa:
            out["qa_by_round"][str(n)] = {k: v for k, v in qa.items() if k != "per_label"}
    out["joined_with_reader"] = len(read_by)
    # writer folders ood, ood2, ... (neg1, neg2: the negation set); blind readers raw/annood, raw/annneg1, ...;
    # the negation set's writer-reader disagreements adjudicated in raw/adjneg (eval_disagreements.py)
    for name, prefix in (("ood", "ood"), ("negation", "neg")):
        parts = [f for d in sorted(syn.glob(f"{prefix}*")) for f in sorted(d.glob("part_*.jsonl"))]
        written = {r["id"]: r for f in parts for r in read(f)}
        blind = {}
        for d in sorted((ANN / "raw").glob(f"ann{prefix}*")):
            for f in sorted(d.glob("*.jsonl")):
                blind.update({r["id"]: {**r, "annotator": d.name} for r in read(f)})
        adjudicated = {r["id"]: r for f in sorted((ANN / "raw" / f"adj{prefix}").glob("*.jsonl")) for r in read(f)}
        out.update(evaluation_set(name, keys, written, blind, adjudicated, f"adj{prefix}"))
    wide_read = {i: r for i, r in read_all.items() if i in wide}
    out.update(evaluation_set("ood_wide", keys, {i: written_all[i] for i in wide}, wide_read))
    return out


def evaluation_set(
    name: str,
    keys: list[str],
    written: dict[str, dict],
    blind: dict[str, dict],
    adjudicated: dict[str, dict] | None = None,
    adjudicator: str = "",
) -> dict:
    """Write ``<name>_dev.jsonl`` / ``<name>_test.jsonl``: written comments labelled by a blind reader.

    The reader never saw the writer's labels; the reader's labels are the gold, and the writer's are only
    compared with them (``<name>_writer_vs_annotator_micro_f1``), except where the two disagreed and an
    adjudicator decided (``adjudicated``: the negation set).
    """
    if not blind:
        return {}
    adjudicated = adjudicated or {}
    if adjudicated:
        # once a set is adjudicated, exactly its writer-reader disagreements are (eval_disagreements.py)
        disagree = set(disagreements(written, blind))
        if set(adjudicated) != disagree:
            odd = sorted(disagree ^ set(adjudicated))
            raise SystemExit(f"{name}: adjudications do not match the {len(disagree)} disagreements, e.g. {odd[0]}")
    ood = []
    for cid in sorted(blind):
        rec = blind[cid]
        who = f"{cid.split('-')[0]}+{rec['annotator']}"
        if cid in adjudicated:
            rec = adjudicated[cid]
            who += f" (adjudicated by {adjudicator})"
        labels = sorted(set(rec["labels"]), key=keys.index)
        ood.append(
            synthetic_record(written[cid], labels, rec.get("evidence", {}), who, OOD_METHOD, f"synthetic:{name}")
        )
    agree = writer_vs_reader(keys, written, blind)
    # 40 % for deciding recipes (<name>_dev), 60 % for reporting (<name>_test), stratified by label within
    # each writer's batch so that a later batch never moves an earlier comment to another split.
    assign = [""] * len(ood)
    for batch in sorted({r["id"].split("-")[0] for r in ood}):
        idx = [i for i, r in enumerate(ood) if r["id"].split("-")[0] == batch]
        parts = iterative_stratification([ood[i]["labels"] for i in idx], {"dev": 0.4, "test": 0.6}, seed=SEED)
        for i, a in zip(idx, parts, strict=True):
            assign[i] = a
    for split in ("dev", "test"):
        write_jsonl(OUT / f"{name}_{split}.jsonl", [r for r, a in zip(ood, assign, strict=True) if a == split])
    return {
        name: len(ood),
        **({f"{name}_adjudicated": len(adjudicated)} if adjudicated else {}),
        f"{name}_split": dict(Counter(assign)),
        f"{name}_writer_vs_annotator_micro_f1": agree["micro_f1"],
        f"{name}_exact_match": agree["exact_match"],
        f"{name}_per_label": dict(Counter(lab for r in ood for lab in r["labels"])),
        f"{name}_domains": dict(Counter(r["source"] for r in ood)),
    }


def writer_vs_reader(keys: list[str], train: dict[str, dict], blind: dict[str, dict]) -> dict:
    """A writer's labels against a blind reader's, on the comments in ``blind`` (training or out-of-domain)."""
    if not blind:
        return {}
    ids = sorted(blind)
    A = np.array([[k in train[i]["labels"] for k in keys] for i in ids], dtype=int)
    B = np.array([[k in blind[i]["labels"] for k in keys] for i in ids], dtype=int)
    tp = (A & B).sum(0)
    per = {
        k: {"writer": int(A[:, j].sum()), "annotator": int(B[:, j].sum()), "both": int(tp[j])}
        for j, k in enumerate(keys)
    }
    return {
        "comments": len(ids),
        "writer_labels": int(A.sum()),
        "annotator_labels": int(B.sum()),
        "micro_f1": round(2 * int(tp.sum()) / max(int(A.sum() + B.sum()), 1), 3),
        "exact_match": round(float(np.mean((A == B).all(axis=1))), 3),
        "per_label": per,
    }


def synthetic_record(src: dict, labels: list[str], evidence: dict, annotator: str, method: str, sampling: str) -> dict:
    return {
        "id": src["id"],
        "source": f"synthetic:{src['domain']}",
        "text": src["text"],
        "labels": labels,
        "spans": spans_for(src["text"], {"labels": labels, "evidence": evidence}, src["id"]),
        "annotator": annotator,
        "method": method,
        "guideline": GUIDELINE,
        "sampling": sampling,
        "note": src.get("note", "") or "",
        "synthetic": True,
    }


def write_card(stats: dict, keys: list[str], short: list[str]) -> None:
    template = (ANN / "CARD_TEMPLATE.md").read_text(encoding="utf-8")
    rows = ["| label | train | dev | test | total |", "|---|---:|---:|---:|---:|"]
    for k in keys:
        c = stats["per_label"][k]
        rows.append(f"| `{k}` | {c['train']} | {c['dev']} | {c['test']} | {sum(c.values())} |")
    ag = stats["agreement"]
    syn = stats["synthetic"]
    arows = ["| label | annotator A | annotator B | F1 (A vs B) | Cohen's kappa |", "|---|---:|---:|---:|---:|"]
    for k in keys:
        v = ag["per_label"][k]
        f1 = "n/a" if v["f1"] is None else f"{v['f1']:.3f}"
        kp = "n/a" if v["kappa"] is None else f"{v['kappa']:.3f}"
        arows.append(f"| `{k}` | {v['a']} | {v['b']} | {f1} | {kp} |")
    late = {
        f"r{n}_{field}": value
        for n in LATE_ROUNDS
        for field, value in (
            ("annotated", stats[f"round{n}"]["annotated"]),
            ("random", stats["sampling"].get(f"random{n}", 0)),
            ("kept", stats[f"round{n}"]["kept_in_train"]),
            ("dropped", stats[f"round{n}"]["dropped_as_duplicates"]),
            ("agree_n", stats[f"round{n}"]["agreement"]["comments"]),
            ("agree_micro", stats[f"round{n}"]["agreement"].get("micro_f1")),
            ("agree_exact", stats[f"round{n}"]["agreement"].get("exact_match")),
        )
    }
    reread_fields = {}
    for n in REREAD_ROUNDS:
        r = stats.get(f"round{n}") or {}
        by_source = r.get("by_source", {})
        reread_fields |= {
            f"r{n}_n": r.get("comments", 0),
            f"r{n}_micro": r.get("micro_f1"),
            f"r{n}_exact": r.get("exact_match"),
            f"r{n}_differ": r.get("differ"),
            f"r{n}_hotel": by_source.get("hotel_reviews_515k", {}).get("micro_f1"),
            f"r{n}_cfpb": by_source.get("cfpb_narratives", {}).get("micro_f1"),
            f"r{n}_changes": ", ".join(
                f"`{k}` {a} → {b}" for k, (a, b) in r.get("labels_before_after", {}).items() if a != b
            ),
        }
    card = template.format(
        **late,
        **reread_fields,
        total=stats["total"],
        train=stats["comments"]["train"],
        dev=stats["comments"]["dev"],
        test=stats["comments"]["test"],
        skipped=stats["skipped"],
        no_label=f"{100 * stats['no_label_share']:.1f}",
        hotel=stats["sources"].get("hotel_reviews_515k", 0),
        cfpb=stats["sources"].get("cfpb_narratives", 0),
        random=stats["sampling"].get("random", 0),
        targeted=stats["sampling"].get("kw", 0),
        exact=stats["exact_duplicates_grouped"],
        near=stats["near_duplicate_pairs_grouped"],
        label_table="\n".join(rows),
        agree_n=ag["comments"],
        agree_micro=ag["micro_f1"],
        agree_kappa=ag["mean_kappa"],
        agree_exact=ag["exact_match"],
        adjudicated=ag["adjudicated"],
        agree_table="\n".join(arows),
        short=", ".join(f"`{k}`" for k in short) or "none",
        syn_train=syn["train"],
        ood_n=syn.get("ood", 0),
        ood_split=", ".join(f"{v} {k}" for k, v in sorted(syn.get("ood_split", {}).items())),
        ood_agree=syn.get("ood_writer_vs_annotator_micro_f1"),
        ood_exact=syn.get("ood_exact_match"),
        ood_wide_n=syn.get("ood_wide", 0),
        ood_wide_split=", ".join(f"{v} {k}" for k, v in sorted(syn.get("ood_wide_split", {}).items())),
        ood_wide_agree=syn.get("ood_wide_writer_vs_annotator_micro_f1"),
        ood_wide_exact=syn.get("ood_wide_exact_match"),
        neg_n=syn.get("negation", 0),
        neg_split=", ".join(f"{v} {k}" for k, v in sorted(syn.get("negation_split", {}).items())),
        neg_agree=syn.get("negation_writer_vs_annotator_micro_f1"),
        neg_exact=syn.get("negation_exact_match"),
        neg_adjudicated=syn.get("negation_adjudicated", 0),
        **synthetic_qa_fields(syn),
    )
    Path("data/README.md").write_text(card, encoding="utf-8")


def synthetic_qa_fields(syn: dict) -> dict[str, str]:
    """The data card's writer-vs-reader figures, formatted ("n/a" before any blind reading)."""
    qa = syn.get("qa") or {}
    if not qa:
        return dict.fromkeys(("syn_qa_n", "syn_qa_f1", "syn_qa_exact", "syn_qa_w", "syn_qa_a", "syn_joined"), "n/a")
    rounds = {}
    for n, r in syn.get("qa_by_round", {}).items():
        rounds.update(
            {
                f"r{n}_qa_f1": f"{r['micro_f1']:.3f}",
                f"r{n}_qa_exact": f"{r['exact_match']:.3f}",
                f"r{n}_qa_w": f"{r['writer_labels']:,}",
                f"r{n}_qa_a": f"{r['annotator_labels']:,}",
            }
        )
    return {
        **rounds,
        "syn_qa_n": f"{qa['comments']:,}",
        "syn_qa_f1": f"{qa['micro_f1']:.3f}",
        "syn_qa_exact": f"{qa['exact_match']:.3f}",
        "syn_qa_w": f"{qa['writer_labels']:,}",
        "syn_qa_a": f"{qa['annotator_labels']:,}",
        "syn_joined": str(syn.get("joined_with_reader", 0)),
    }


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--readers",
        nargs="*",
        help="join only these blind readers' labels (raw/annsyn* folder names) into the synthetic training "
        "labels; with no name, the writers' labels alone (default: every reader)",
    )
    ap.add_argument(
        "--apply-rounds",
        nargs="*",
        type=int,
        default=list(APPLIED_REREAD_ROUNDS),
        help="re-reading rounds whose result replaces the first reading (default: %(default)s)",
    )
    args = ap.parse_args()
    main(args.readers, tuple(args.apply_rounds))
