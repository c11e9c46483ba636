"""Wall time and peak memory of training the default model end to end, as README documents it.

    python benchmarks/train_time.py [--out /tmp/cxnlp-bench/cx-default] [-- extra `cxnlp train` arguments]

Runs ``cxnlp train --out OUT --seed 0 --distill data/distill/encoder_corpus.jsonl.gz`` (plus any extra
arguments) as a separate process: reading the data, segmenting, features, the 27 per-key models, the
hidden layer, calibration, the dev evaluation and writing the directory.  Memory is the peak of the sum
of resident set sizes over the process tree (the per-key models are fitted in worker processes).  The
static-vector cache (``~/.cache/cxnlp``) is used as it is; the table says whether it was warm.
Results are appended to benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from tag_speed import ROOT, run  # benchmarks/ is the script's directory, so on sys.path

DEFAULT = ["--seed", "0", "--distill", "data/distill/encoder_corpus.jsonl.gz"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/cxnlp-bench/cx-default"))
    ap.add_argument("extra", nargs="*", help="more `cxnlp train` arguments (after --)")
    args = ap.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    cache = Path(os.environ.get("CXNLP_CACHE", Path.home() / ".cache" / "cxnlp"))
    warm = cache.exists() and any(cache.iterdir())
    cmd = [sys.executable, "-m", "cxnlp", "train", "--out", str(args.out), *DEFAULT, *args.extra]
    os.chdir(ROOT)
    secs, rss = run(cmd)
    cache_state = "warm" if warm else "cold"
    line = f"| {' '.join(cmd[3:])} | {secs // 60:.0f} min {secs % 60:.0f} s | {rss:,.0f} | {cache_state} |"
    print(line, flush=True)
    with open(ROOT / "benchmarks/results.md", "a", encoding="utf-8") as fh:
        fh.write(
            f"\n### {time.strftime('%Y-%m-%d')} on {platform.node()} ({platform.processor() or 'cpu'},"
            f" {os.cpu_count()} cores): training time\n\n"
            f"Command: `python benchmarks/train_time.py {' '.join(sys.argv[1:])}`.\n\n"
            "| command | wall time | peak RSS MB (process tree) | static-vector cache |\n"
            "|---|---:|---:|---|\n" + line + "\n"
        )


if __name__ == "__main__":
    main()
