"""Bulk tagging jobs: chunked, parallel, resumable, atomic.

The input is read in chunks of ``batch_size`` rows.  Each tagged chunk is
written to its own file in ``OUT.parts/`` and recorded in ``progress.json``;
when every chunk is done the parts are joined into ``OUT`` through a
temporary file and a rename, and the parts directory is removed.  An
interrupted job therefore leaves complete chunks behind, and ``--resume``
skips them (chunk boundaries are deterministic for the same input and batch
size, which ``progress.json`` checks).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cxnlp.inference import Tagger, join_tag_columns, long_row, wide_row
from cxnlp.io import InputError, ReadStats, check_input, detect_columns, read_chunks, write_chunk


@dataclass
class JobSpec:
    input: str
    out: str
    fmt: str  # output format: jsonl, csv, tsv, parquet, xlsx
    layout: str  # long or wide
    model: str
    text_column: str | None = None
    id_column: str | None = None
    batch_size: int = 2000
    workers: int = 1
    min_score: float | None = None
    input_format: str | None = None
    encoding: str = "utf-8"
    encoding_errors: str = "strict"


@dataclass
class JobSummary:
    rows_read: int = 0
    tagged: int = 0
    empty: int = 0
    rejected: int = 0
    duplicate_ids: int = 0
    chunks: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    rejected_examples: list[str] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_WORKER: dict[str, Any] = {}


TAG_BATCH = 256


def _init_worker(model: str, min_score: float | None) -> None:
    # Each worker process loads the model once.
    _WORKER["tagger"] = Tagger.load(model, min_score)


def _tag_chunk(args: tuple[int, pd.DataFrame, str, str, str, str]) -> tuple[int, dict[str, Any]]:
    idx, df, text_col, layout, fmt, part = args
    tagger: Tagger = _WORKER["tagger"]
    # Sub-batches bound the sparse feature matrices (the peak of a worker's memory) whatever the chunk size.
    results = list(tagger.tag_many(df[text_col].tolist(), batch_size=TAG_BATCH))
    rows = [wide_row(r, tagger.keys) if layout == "wide" else long_row(r) for r in results]
    extra = pd.DataFrame(rows, index=df.index)
    if layout == "long" and fmt in ("csv", "tsv", "xlsx"):
        extra["tags"] = extra["tags"].map(lambda t: json.dumps(t, ensure_ascii=False))
    write_chunk(join_tag_columns(df, extra), Path(part), fmt)
    counts = Counter(t.key for r in results for t in r.tags)
    return idx, {"rows": len(df), "empty": sum(r.status == "empty" for r in results), "labels": dict(counts)}


def check_spec(spec: JobSpec) -> None:
    """Refuse, in one line, what would fail later or destroy data: a missing input, an unknown
    encoding, or an output that is the input itself (before the resume fingerprint stats the input)."""
    check_input(spec.input, spec.encoding, spec.encoding_errors)
    if spec.input != "-" and Path(spec.out).resolve() == Path(spec.input).resolve():
        raise InputError(f"{spec.out}: the output would overwrite the input; choose another --out")


def _fingerprint(spec: JobSpec) -> str:
    st = os.stat(spec.input) if spec.input != "-" else None
    key = {k: v for k, v in asdict(spec).items() if k not in ("workers", "out")}
    key["input_stat"] = [st.st_size, int(st.st_mtime)] if st else None
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def run_job(spec: JobSpec, resume: bool = False, progress: bool | None = None) -> JobSummary:
    from cxnlp.io import join_chunks

    t0 = time.time()
    check_spec(spec)
    out = Path(spec.out)
    parts_dir = out.with_name(out.name + ".parts")
    state_path = parts_dir / "progress.json"
    fp = _fingerprint(spec)
    done: dict[str, dict[str, Any]] = {}
    if parts_dir.exists():
        if not resume:
            raise InputError(f"{parts_dir}: an interrupted job's parts are here; pass --resume, or delete the folder")
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        if state.get("fingerprint") != fp:
            raise InputError(f"{parts_dir}: left by a job with other input or settings; delete it to start again")
        done = state.get("done", {})
    elif resume and spec.input == "-":
        raise InputError("--resume needs a file input, not stdin")
    parts_dir.mkdir(parents=True, exist_ok=True)
    summary = JobSummary(resumed_chunks=len(done))
    stats = ReadStats()
    seen_ids: set[int] = set()
    show = sys.stderr.isatty() if progress is None else progress
    from tqdm.auto import tqdm

    bar = tqdm(desc="tagging", unit=" rows", disable=not show, smoothing=0.1, mininterval=0.5, file=sys.stderr)

    def chunks() -> Iterator[tuple[int, pd.DataFrame, str, str, str, str]]:
        text_col = id_col = None
        for idx, df in enumerate(
            read_chunks(spec.input, spec.batch_size, spec.input_format, spec.encoding, spec.encoding_errors, stats)
        ):
            if text_col is None:
                text_col, id_col = detect_columns(list(df.columns), spec.text_column, spec.id_column, spec.input)
            if text_col not in df.columns:
                # JSON lines need not all have the same keys: a chunk without the text key is kept,
                # its rows tagged as empty.
                df[text_col] = None
            summary.rows_read += len(df)
            if id_col is not None and id_col in df.columns:
                # Hashes, not the ids: a set of ints stays small on millions of rows, and a
                # per-row membership test keeps this linear (``isin`` on a growing set is not).
                for h in map(hash, df[id_col].astype(str)):
                    if h in seen_ids:
                        summary.duplicate_ids += 1
                    else:
                        seen_ids.add(h)
            if str(idx) in done:
                bar.update(len(df))
                continue
            yield idx, df, text_col, spec.layout, spec.fmt, str(parts_dir / f"part-{idx:06d}.{_ext(spec.fmt)}")

    def record(idx: int, res: dict[str, Any]) -> None:
        done[str(idx)] = res
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fingerprint": fp, "done": done}))
        tmp.replace(state_path)
        bar.update(res["rows"])

    try:
        if spec.workers <= 1:
            _init_worker(spec.model, spec.min_score)
            for job in chunks():
                record(*_tag_chunk(job))
        else:
            with ProcessPoolExecutor(
                spec.workers, initializer=_init_worker, initargs=(spec.model, spec.min_score)
            ) as pool:
                pending = []
                for job in chunks():
                    pending.append(pool.submit(_tag_chunk, job))
                    # Bounded queue: keeps memory flat on huge inputs.
                    while len(pending) >= spec.workers * 2:
                        record(*pending.pop(0).result())
                for f in pending:
                    record(*f.result())
    except BaseException:
        # Nothing finished: leave no parts folder that would demand --resume.
        if not done:
            shutil.rmtree(parts_dir, ignore_errors=True)
        raise
    finally:
        bar.close()
    parts = [parts_dir / f"part-{int(i):06d}.{_ext(spec.fmt)}" for i in sorted(done, key=int)]
    join_chunks(parts, out, spec.fmt)
    shutil.rmtree(parts_dir)
    summary.chunks = len(done)
    summary.rejected = len(stats.rejected)
    summary.rejected_examples = stats.rejected[:20]
    summary.empty = sum(d["empty"] for d in done.values())
    summary.tagged = sum(d["rows"] for d in done.values()) - summary.empty
    totals: Counter = Counter()
    for d in done.values():
        totals.update(d["labels"])
    summary.label_counts = dict(totals.most_common())
    summary.seconds = round(time.time() - t0, 2)
    return summary


def _ext(fmt: str) -> str:
    return "parquet" if fmt == "xlsx" else fmt
