"""Reading comment exports in chunks and writing tagged output atomically.

Input formats by extension: .csv, .tsv (delimiter sniffed), .jsonl/.ndjson,
.json (array), .parquet, .xlsx, and .gz of the text formats; ``-`` is stdin
(CSV unless ``fmt`` says otherwise).  Readers yield pandas DataFrames of at
most ``chunk_size`` rows, so memory stays flat whatever the file size.
Problems are reported with file, line and column.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

TEXT_COLUMNS = (
    "text",
    "comment",
    "comments",
    "review",
    "review_text",
    "feedback",
    "verbatim",
    "response",
    "answer",
    "body",
    "message",
    "narrative",
    "description",
    "content",
)
ID_COLUMNS = ("id", "comment_id", "response_id", "review_id", "record_id", "row_id", "uuid")


class InputError(ValueError):
    """Unreadable input; the message names the file, line and column."""


@dataclass
class ReadStats:
    rejected: list[str] = field(default_factory=list)  # one message per malformed line


# file name ending -> input format (a ``.gz`` suffix is stripped first)
EXTENSIONS = (
    (".csv", "csv"),
    (".tsv", "tsv"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "json"),
    (".parquet", "parquet"),
    (".xlsx", "xlsx"),
    (".txt", "csv"),
)


def input_format(path: str, fmt: str | None = None) -> tuple[str, bool]:
    """(format, gzipped) from an explicit format or the file's extension."""
    if fmt:
        return fmt.lower().lstrip("."), path.endswith(".gz")
    p = path.lower()
    gz = p.endswith(".gz")
    if gz:
        p = p[:-3]
    for ext, name in EXTENSIONS:
        if p.endswith(ext):
            return name, gz
    if path == "-":
        return "csv", False
    raise InputError(
        f"{path}: unknown input format (use .csv, .tsv, .jsonl, .json, .parquet, .xlsx, or --input-format)"
    )


def _text_stream(path: str, gz: bool, encoding: str, errors: str):
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed by the wrapper
    if gz:
        raw = gzip.GzipFile(fileobj=raw)
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def read_chunks(
    path: str,
    chunk_size: int = 10_000,
    fmt: str | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    stats: ReadStats | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the input as DataFrames of at most ``chunk_size`` rows (all columns as read)."""
    stats = stats if stats is not None else ReadStats()
    kind, gz = input_format(path, fmt)
    if path != "-" and not Path(path).exists():
        raise InputError(f"{path}: no such file")
    try:
        if kind in ("csv", "tsv"):
            yield from _read_csv(path, gz, kind, chunk_size, encoding, encoding_errors, stats)
        elif kind == "jsonl":
            yield from _read_jsonl(path, gz, chunk_size, encoding, encoding_errors, stats)
        elif kind == "json":
            with _text_stream(path, gz, encoding, encoding_errors) as fh:
                try:
                    data = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(data, list):
                raise InputError(f"{path}: expected a JSON array of objects")
            for i in range(0, len(data), chunk_size):
                yield pd.DataFrame(data[i : i + chunk_size])
        elif kind == "parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size):
                yield batch.to_pandas()
        elif kind == "xlsx":
            yield from _read_xlsx(path, chunk_size)
        else:
            raise InputError(f"{path}: unsupported format {kind!r}")
    except UnicodeDecodeError as exc:
        where = _undecodable_line(path, gz, encoding) if path != "-" else None
        at = f"line {where[0]}: bytes {where[1]!r}" if where else f"bytes {exc.start}-{exc.end} of a chunk"
        raise InputError(
            f"{path}: {at} are not valid {encoding} ({exc.reason}); "
            "pass --encoding (e.g. latin-1) or --encoding-errors replace"
        ) from None


def _undecodable_line(path: str, gz: bool, encoding: str) -> tuple[int, bytes] | None:
    """The first line (1-based) that does not decode, with the offending bytes; the error path only.

    Decoding runs over 8 KB blocks, so the exception cannot say which line it was in; scanning the
    raw bytes again line by line can.
    """
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    with gzip.open(path, "rb") if gz else open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as exc:
                return n, raw[max(0, exc.start - 10) : exc.end + 10]
    return None


def _read_csv(path, gz, kind, chunk_size, encoding, errors, stats) -> Iterator[pd.DataFrame]:
    # The csv module rather than pandas: its ``line_num`` gives the physical line of every record
    # (quoted fields may span lines), which pandas does not pass to ``on_bad_lines``.  Semantics
    # follow pandas' defaults: blank lines skipped, short rows padded, rows with more fields than
    # the header rejected, empty fields read as missing.
    csv.field_size_limit(1 << 30)  # a single 100,000-character comment must not be an error
    with _text_stream(path, gz, encoding, errors) as fh:
        head = fh.read(65536)
        delim = "\t"
        if kind != "tsv":
            try:
                delim = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
            except csv.Error:
                delim = ","
        reader = csv.reader(_Prepend(head, fh), delimiter=delim)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                return
            width = len(header)
            rows: list[list[str | None]] = []
            while True:
                line = reader.line_num + 1  # where the next record starts
                rec = next(reader, None)
                if rec is None:
                    break
                if not rec:
                    continue
                if len(rec) > width:
                    stats.rejected.append(
                        f"{path}: line {line}: malformed CSV row with {len(rec)} fields (header has {width}): "
                        f"{delim.join(rec)[:80]!r}"
                    )
                    continue
                rows.append([v if v != "" else None for v in rec] + [None] * (width - len(rec)))
                if len(rows) == chunk_size:
                    yield pd.DataFrame(rows, columns=header, dtype=object)
                    rows = []
        except csv.Error as exc:
            raise InputError(f"{path}: line {line}: unreadable CSV ({exc})") from None
        if rows:
            yield pd.DataFrame(rows, columns=header, dtype=object)


class _Prepend(io.TextIOBase):
    """A text stream that replays the sniffed head, then the rest of the file."""

    def __init__(self, head: str, rest) -> None:
        self._buf = io.StringIO(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> str:
        out = self._buf.read(n)
        if n < 0:
            return out + self._rest.read()
        if len(out) < n:
            out += self._rest.read(n - len(out))
        return out

    def readline(self, limit: int = -1) -> str:
        line = self._buf.readline(limit)
        if line.endswith("\n") or (limit > 0 and len(line) >= limit):
            return line
        return line + self._rest.readline()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def _read_jsonl(path, gz, chunk_size, encoding, errors, stats) -> Iterator[pd.DataFrame]:
    rows: list[dict[str, Any]] = []
    with _text_stream(path, gz, encoding, errors) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                stats.rejected.append(f"{path}: line {n}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                stats.rejected.append(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}")
                continue
            rows.append(obj)
            if len(rows) == chunk_size:
                yield pd.DataFrame(rows)
                rows = []
    if rows:
        yield pd.DataFrame(rows)


def _read_xlsx(path: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(next(rows, ()))]
    buf = []
    for r in rows:
        buf.append(dict(zip(header, r, strict=False)))
        if len(buf) == chunk_size:
            yield pd.DataFrame(buf, columns=header)
            buf = []
    if buf:
        yield pd.DataFrame(buf, columns=header)
    wb.close()


def detect_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, path: str) -> str:
    cols = [str(c) for c in columns]
    if wanted:
        if wanted not in cols:
            raise InputError(f"{path}: column {wanted!r} not found; columns are: {', '.join(cols)}")
        return wanted
    lower = {c.lower().strip(): c for c in cols}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    raise InputError(
        f"{path}: cannot tell which column holds the {what}; pass --{what}-column (columns: {', '.join(cols)})"
    )


def detect_columns(
    columns: list[str], text_column: str | None, id_column: str | None, path: str
) -> tuple[str, str | None]:
    """The text column, and the id column when one is named or obvious (None otherwise)."""
    text_col = detect_column(columns, text_column, TEXT_COLUMNS, "text", path)
    try:
        return text_col, detect_column(columns, id_column, ID_COLUMNS, "id", path)
    except InputError:
        if id_column:
            raise
        return text_col, None


def output_format(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    p = path.lower().removesuffix(".gz")
    for ext, name in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".parquet", "parquet"),
        (".xlsx", "xlsx"),
    ):
        if p.endswith(ext):
            return name
    raise InputError(f"{path}: unknown output format (use .jsonl, .csv, .tsv, .parquet or .xlsx)")


def write_chunk(df: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write one tagged chunk to its own file (joined by :func:`join_chunks`)."""
    if fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt in ("csv", "tsv", "xlsx"):
        # xlsx cannot be appended to in a stream: chunks are kept as CSV and converted at the end.
        df.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        raise InputError(f"unsupported output format {fmt!r}")


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a temporary file and a rename, so an interrupted write
    never leaves a truncated file (e.g. a model directory's ``metrics.json`` or card)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def join_chunks(parts: list[Path], out: Path, fmt: str) -> None:
    """Concatenate chunk files into ``out`` atomically (temporary file, then rename)."""
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "jsonl":
        with open(tmp, "wb") as dst:
            for p in parts:
                with open(p, "rb") as src:
                    while block := src.read(1 << 20):
                        dst.write(block)
    elif fmt in ("csv", "tsv"):
        with open(tmp, "wb") as dst:
            for n, p in enumerate(parts):
                with open(p, "rb") as src:
                    if n:
                        src.readline()  # header already written
                    while block := src.read(1 << 20):
                        dst.write(block)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        writer = None
        for p in parts:
            table = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            pd.DataFrame().to_parquet(tmp)
        else:
            writer.close()
    elif fmt == "xlsx":
        frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in parts]
        (pd.concat(frames) if frames else pd.DataFrame()).to_excel(tmp, index=False, engine="openpyxl")
    tmp.replace(out)
