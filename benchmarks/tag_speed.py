"""Tagging throughput and peak memory of `cxnlp tag` on real comments.

    python benchmarks/tag_speed.py [--rows 10000 100000] [--workers 1 2] [--model models/cx-default]

Inputs are made by sampling (with replacement, seeded) real comments from
data/sample_comments.csv and the annotated data's train split; each run is a
separate `cxnlp tag` process whose peak RSS (children included) is read from
the OS.  Results are appended to benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_input(n: int, path: Path) -> None:
    with open(ROOT / "data/sample_comments.csv", encoding="utf-8") as fh:
        texts = [r["comment"] for r in csv.DictReader(fh)]
    with open(ROOT / "data/annotated/train.jsonl", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in fh]
    rng = random.Random(n)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "comment"])
        for i in range(n):
            w.writerow([i, rng.choice(texts)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", default=str(ROOT / "models/cx-default"))
    ap.add_argument("--tmp", type=Path, default=Path("/tmp/cxnlp-bench"))
    args = ap.parse_args()
    args.tmp.mkdir(parents=True, exist_ok=True)
    lines = []
    for n in args.rows:
        src = args.tmp / f"in-{n}.csv"
        if not src.exists():
            make_input(n, src)
        for w in args.workers:
            out = args.tmp / f"out-{n}-{w}.jsonl"
            t0 = time.time()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cxnlp",
                    "tag",
                    str(src),
                    "--out",
                    str(out),
                    "--model",
                    args.model,
                    "--workers",
                    str(w),
                    "--no-progress",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            secs = time.time() - t0
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            line = f"| {Path(args.model).name} | {n:,} | {w} | {secs:.1f} | {n / secs:,.0f} | {rss:,.0f} |"
            print(line, flush=True)
            lines.append(line)
    with open(ROOT / "benchmarks/results.md", "a", encoding="utf-8") as fh:
        fh.write(
            f"\n### {time.strftime('%Y-%m-%d')} on {platform.node()} ({platform.processor() or 'cpu'},"
            f" {__import__('os').cpu_count()} cores)\n\n"
        )
        fh.write(
            "| model | rows | workers | seconds (incl. start-up) | rows/s | peak RSS MB (max over runs so far) |\n"
        )
        fh.write("|---|---:|---:|---:|---:|---:|\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
