"""Spark (``local[N]``) against the local engine's worker processes, on the same machine and input.

    python benchmarks/spark_vs_workers.py [--rows 1000000] [--workers 2] [--master local[2]]

The input is made by sampling real comments with replacement (seeded) from data/annotated/*.jsonl and
data/sample_comments.csv into a Parquet file (row groups of 50,000 rows, so Spark can split it) in a
temporary folder.  Each engine is a separate ``cxnlp tag`` process writing wide Parquet:

    cxnlp tag IN.parquet --out OUT.parquet --workers 2
    cxnlp tag IN.parquet --engine spark --master local[2] --out OUT_DIR

The wall time includes start-up (Python imports, the JVM for Spark).  The two outputs are then compared
row for row (status, every score_/tag_ column, evidence), and a table is appended to
benchmarks/spark_results.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def real_comments() -> list[str]:
    texts = []
    for path in sorted((ROOT / "data/annotated").glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh]
    with open(ROOT / "data/sample_comments.csv", encoding="utf-8", newline="") as fh:
        texts += [r["comment"] for r in csv.DictReader(fh)]
    return texts


def make_input(n: int, path: Path, seed: int = 0) -> None:
    texts = real_comments()
    rng = random.Random(seed)
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 50_000):
            ids = [str(i) for i in range(start, min(n, start + 50_000))]
            writer.write_table(pa.table({"id": ids, "text": [rng.choice(texts) for _ in ids]}, schema=schema))


def run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.time() - t0
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return secs, proc.stdout


def compare(local: Path, spark: Path) -> str:
    """Row-for-row comparison of the two wide outputs, by id."""
    names = [c for c in pq.read_schema(local).names if c != "text"]  # the comments themselves are not needed
    a = pq.read_table(local, columns=names).to_pandas().set_index("id").sort_index()
    b = pq.read_table(spark, columns=names).to_pandas().set_index("id").sort_index()
    if len(a) != len(b) or not a.index.equals(b.index):
        return f"DIFFERENT rows: local {len(a)}, spark {len(b)}"
    tags = [c for c in a.columns if c.startswith("tag_")]
    scores = [c for c in a.columns if c.startswith("score_")]
    worst = float((a[scores] - b[scores]).abs().max().max())
    same = (
        (a["status"].astype(str) == b["status"].astype(str)).all()
        and (a[tags].astype("int64") == b[tags].astype("int64")).all().all()
        and (a["evidence"].fillna("").astype(str) == b["evidence"].fillna("").astype(str)).all()
        and worst <= 1e-6
    )
    cols = tags + scores
    verdict = "identical" if same else "DIFFERENT"
    return f"{verdict} ({len(a):,} rows; status, {len(cols)} score/tag columns, evidence; max score diff {worst:g})"


def java_version() -> str:
    java = str(Path(os.environ["JAVA_HOME"]) / "bin/java") if os.environ.get("JAVA_HOME") else "java"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    except OSError:
        return "none"
    return out.splitlines()[0] if out else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2, help="local engine: worker processes")
    ap.add_argument("--master", default="local[2]", help="Spark master")
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--model", default=str(ROOT / "models/cx-default"))
    ap.add_argument("--tmp", type=Path, default=None, help="work folder (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--spark-first", action="store_true", help="run Spark first (default: the local engine)")
    args = ap.parse_args()
    work = args.tmp or Path(tempfile.mkdtemp(prefix="cxnlp-spark-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"in-{args.rows}.parquet"
    if not src.exists():
        t0 = time.time()
        make_input(args.rows, src)
        print(f"input: {args.rows:,} rows -> {src} ({time.time() - t0:.1f}s)", flush=True)
    load = os.getloadavg()[0]
    cli = [sys.executable, "-m", "cxnlp", "tag", str(src), "--model", args.model, "--batch-size", str(args.batch_size)]
    out_local, out_spark = work / "local.parquet", work / "spark-out"
    shutil.rmtree(out_spark, ignore_errors=True)
    out_local.unlink(missing_ok=True)
    engines = {
        f"`cxnlp tag --workers {args.workers}`": [*cli, "--out", str(out_local), "--workers", str(args.workers)],
        f"`cxnlp tag --engine spark --master {args.master}`": [
            *cli,
            *("--out", str(out_spark), "--engine", "spark", "--master", args.master),
        ],
    }
    results = []
    for name in sorted(engines, key=lambda n: ("spark" in n) != args.spark_first):
        secs, out = run([*engines[name], "--no-progress"])
        m = re.search(r"Spark start-up ([\d.]+)s", out)
        results.append((name, secs, f"{m.group(1)}s JVM" if m else "", os.getloadavg()[0]))
        print(f"{name}: {secs:.1f}s", flush=True)
    verdict = compare(out_local, out_spark)
    print(f"outputs: {verdict}", flush=True)

    import pandas
    import pyspark

    cmd = f"python benchmarks/spark_vs_workers.py --rows {args.rows} --workers {args.workers} --master {args.master}"
    cmd += " --spark-first" if args.spark_first else ""
    lines = [
        f"\n### {date.today()}, {args.rows:,} rows, `{cmd}`\n",
        f"{os.cpu_count()} CPUs ({platform.machine()}), load average {load:.1f} when it started; {java_version()};"
        f" PySpark {pyspark.__version__}, pandas {pandas.__version__}, Python {platform.python_version()};"
        f" model {Path(args.model).name}, batch size {args.batch_size}; input Parquet, output wide Parquet.\n",
        "| engine | rows | wall seconds (incl. start-up) | of which start-up | rows/s | load average after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {args.rows:,} | {s:.1f} | {extra} | {args.rows / s:,.0f} | {la:.1f} |"
        for name, s, extra, la in results
    ]
    lines.append(f"\nOutputs compared by id: {verdict}.\n")
    text = "\n".join(lines)
    print(text)
    path = ROOT / "benchmarks/spark_results.md"
    if not path.exists():
        path.write_text(
            "# Spark against worker processes\n\nProduced by `python benchmarks/spark_vs_workers.py`; "
            "every table is appended by a run.\n",
            encoding="utf-8",
        )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
    if not args.keep and args.tmp is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
