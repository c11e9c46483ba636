"""Validate an annotator's output file against its batch and the taxonomy.

    python3 scripts/annotation/check.py data/annotation/raw/ann3/batch_003.jsonl

Synthetic files (under data/annotation/synthetic/) carry their own ``text``.

Checks: every comment of the batch answered once; labels are taxonomy keys;
each label has an evidence quote that occurs verbatim in the text; the
guideline's firm implications hold (coldness -> friendliness-; apathy ->
attentiveness- or empathy-).  Stdlib only, so annotators need no environment.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

TAXONOMY = Path(__file__).resolve().parents[2] / "cxnlp" / "resources" / "taxonomy.toml"


def keys() -> set[str]:
    labels = tomllib.loads(TAXONOMY.read_text(encoding="utf-8"))["labels"]
    out = set()
    for lab in labels:
        if lab["kind"] == "skill":
            out |= {lab["name"] + "+", lab["name"] + "-"}
        else:
            out.add(lab["name"])
    return out


def check(path: Path) -> list[str]:
    valid = keys()
    # Synthetic files carry their own text; adjudication answers the
    # disagreement list; annotators answer batches.
    if "synthetic" in path.parts:
        batch = path
    elif path.name == "adjudicated.jsonl":
        batch = Path("data/annotation/disagreements.jsonl")
    else:
        batch = Path("data/annotation/batches") / path.name
    texts = {json.loads(line)["id"]: json.loads(line)["text"] for line in batch.open(encoding="utf-8")}
    problems, seen = [], set()
    for n, line in enumerate(path.open(encoding="utf-8"), 1):
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc})")
            continue
        cid = rec.get("id")
        if cid not in texts:
            problems.append(f"{where}: id {cid!r} is not in {batch.name}")
            continue
        if cid in seen:
            problems.append(f"{where}: id {cid} answered twice")
        seen.add(cid)
        labels = rec.get("labels", [])
        evidence = rec.get("evidence", {})
        for lab in labels:
            if lab not in valid:
                problems.append(f"{where}: unknown label {lab!r}")
            quote = evidence.get(lab)
            if not quote:
                problems.append(f"{where}: label {lab} has no evidence quote")
            elif quote not in texts[cid]:
                problems.append(f"{where}: evidence for {lab} is not verbatim in the text: {quote!r}")
        for lab in evidence:
            if lab not in labels:
                problems.append(f"{where}: evidence given for {lab} which is not in labels")
        if "coldness" in labels and "friendliness-" not in labels:
            problems.append(f"{where}: coldness without friendliness- (convention 11)")
        if "apathy" in labels and not {"attentiveness-", "empathy-"} & set(labels):
            problems.append(f"{where}: apathy without attentiveness- or empathy- (convention 12)")
    for cid in texts.keys() - seen:
        problems.append(f"{path}: comment {cid} not annotated")
    return problems


if __name__ == "__main__":
    bad = 0
    for arg in sys.argv[1:]:
        probs = check(Path(arg))
        bad += len(probs)
        print("\n".join(probs) if probs else f"{arg}: OK")
    sys.exit(1 if bad else 0)
