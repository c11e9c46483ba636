"""Tagging throughput and peak memory of `cxnlp tag` on real comments.

    python benchmarks/tag_speed.py [--rows 10000 100000] [--workers 1 2] [--model models/cx-default]

Inputs are made by sampling (with replacement, seeded) real comments from
data/sample_comments.csv and the annotated data's train split; each run is a
separate `cxnlp tag` process.  Memory is the peak of the *sum* of resident
set sizes over the process tree (the parent and its workers), sampled from
/proc every 0.2 s.  Results are appended to benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
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


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    parent, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="utf-8") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(fields[1])
        rss[int(d)] = int(fields[21]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += [c for c, p in parent.items() if p == pid]
    return total / 2**20


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak tree RSS (MB) of one command."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return time.time() - t0, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", default=str(ROOT / "models/cx-default"))
    ap.add_argument("--tmp", type=Path, default=Path("/tmp/cxnlp-bench"))
    args = ap.parse_args()
    args.tmp.mkdir(parents=True, exist_ok=True)
    lines, mean_chars = [], 0.0
    for n in args.rows:
        src = args.tmp / f"in-{n}.csv"
        if not src.exists():
            make_input(n, src)
        with open(src, encoding="utf-8") as fh:
            mean_chars = sum(len(r["comment"]) for r in csv.DictReader(fh)) / n
        for w in args.workers:
            out = args.tmp / f"out-{n}-{w}.jsonl"
            secs, rss = run(
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
                ]
            )
            load = os.getloadavg()[0]
            line = f"| {Path(args.model).name} | {n:,} | {w} | {secs:.1f} | {n / secs:,.0f} | {rss:,.0f} | {load:.1f} |"
            print(line, flush=True)
            lines.append(line)
    with open(ROOT / "benchmarks/results.md", "a", encoding="utf-8") as fh:
        fh.write(
            f"\n### {time.strftime('%Y-%m-%d')} on {platform.node()} ({platform.processor() or 'cpu'},"
            f" {__import__('os').cpu_count()} cores)\n\n"
        )
        fh.write(
            f"Command: `python benchmarks/tag_speed.py {' '.join(sys.argv[1:])}`;"
            f" inputs average {mean_chars:,.0f} characters.\n\n"
            "| model | rows | workers | seconds (incl. start-up) | rows/s | peak RSS MB (process tree) | load avg |\n"
        )
        fh.write("|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
