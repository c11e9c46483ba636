"""Reading comment exports in chunks and writing tagged output atomically.

Input formats by extension: .csv, .tsv (delimiter sniffed), .jsonl/.ndjson,
.json (array), .parquet, .xlsx, .txt (one comment per line), and .gz of the
text formats; ``-`` is stdin (CSV unless ``fmt`` says otherwise).  Readers
yield pandas DataFrames of at most ``chunk_size`` rows, so memory stays flat
whatever the file size.  Problems are reported with file, line and column.
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
    (".txt", "lines"),
)
INPUT_FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "xlsx", "lines")
# what --input-format also accepts
FORMAT_ALIASES = {"ndjson": "jsonl", "txt": "lines", "text": "lines", "excel": "xlsx"}


def input_format(path: str, fmt: str | None = None) -> tuple[str, bool]:
    """(format, gzipped) from an explicit format or the file's extension."""
    if fmt:
        name = fmt.lower().lstrip(".")
        name = FORMAT_ALIASES.get(name, name)
        if name not in INPUT_FORMATS:
            raise InputError(f"{path}: unknown input format {fmt!r} (use one of: {', '.join(INPUT_FORMATS)})")
        return name, path.endswith(".gz")
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
        f"{path}: unknown input format (use .csv, .tsv, .jsonl, .json, .parquet, .xlsx, .txt, or --input-format)"
    )


def check_input(path: str, encoding: str, errors: str) -> None:
    """A one-line error for a missing input file or an unknown --encoding / --encoding-errors,
    before any work starts."""
    if path != "-" and not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
    if errors not in ("strict", "replace", "ignore"):
        raise InputError(f"--encoding-errors must be strict, replace or ignore, not {errors!r}")


class _LineCountingStdin(io.BufferedIOBase):
    """stdin as the text layer reads it, counting the newlines in the blocks already decoded, so that
    a decoding error can name its line: a file is scanned again for it (``undecodable_line``); stdin
    cannot be read twice."""

    current: _LineCountingStdin | None = None  # stdin is one per process

    def __init__(self, raw) -> None:
        super().__init__()
        self.raw = raw
        self.lines_before = 0
        self._block = b""
        _LineCountingStdin.current = self

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _next(self, block: bytes) -> bytes:
        self.lines_before += self._block.count(b"\n")
        self._block = block
        return block

    def read1(self, size: int = -1) -> bytes:
        return self._next(self.raw.read1(size))

    def read(self, size: int | None = -1) -> bytes:
        return self._next(self.raw.read(size))

    def line_of(self, exc: UnicodeDecodeError) -> tuple[int, bytes]:
        # exc.object is the block being decoded, after at most 3 bytes left over from the one before
        # (part of a character, never a newline), so the newlines before exc.start are this block's.
        data = exc.object
        return self.lines_before + data[: exc.start].count(b"\n") + 1, data[max(0, exc.start - 10) : exc.end + 10]


def _text_stream(path: str, gz: bool, encoding: str, errors: str):
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed by the wrapper
    if gz:
        raw = gzip.GzipFile(fileobj=raw)
    if path == "-":
        raw = _LineCountingStdin(raw)
    # Excel's "CSV UTF-8" starts with a byte-order mark, which plain utf-8 would glue onto the first
    # column's name; utf-8-sig drops it and reads BOM-less files the same.
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def _binary_source(path: str):
    """A seekable source for the binary formats: the path, or stdin read into memory."""
    return io.BytesIO(sys.stdin.buffer.read()) if path == "-" else path


def unique_names(header: list[Any]) -> list[str]:
    """Column names made unique the way pandas does (``a``, ``a.1``, ...), blanks named by position.

    Survey exports repeat headers ("Comment" for two questions); duplicate names would make a column
    lookup return several columns.
    """
    out: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(header):
        name = str(h) if h is not None and str(h).strip() else f"column_{i + 1}"
        base, n = name, 0
        while name in seen:
            n += 1
            name = f"{base}.{n}"
        seen.add(name)
        out.append(name)
    return out


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
    check_input(path, encoding, encoding_errors)
    try:
        if kind in ("csv", "tsv"):
            yield from _read_csv(path, gz, kind, chunk_size, encoding, encoding_errors, stats)
        elif kind == "jsonl":
            yield from _read_jsonl(path, gz, chunk_size, encoding, encoding_errors, stats)
        elif kind == "lines":
            yield from _read_lines(path, gz, chunk_size, encoding, encoding_errors)
        elif kind == "json":
            with _text_stream(path, gz, encoding, encoding_errors) as fh:
                try:
                    data = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(data, list):
                raise InputError(f"{path}: expected a JSON array of objects")
            for i in range(0, len(data), chunk_size):
                yield _records_frame(data[i : i + chunk_size])
        elif kind == "parquet":
            import pyarrow.parquet as pq

            try:
                source = pq.ParquetFile(_binary_source(path))
            except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
                raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
            for batch in source.iter_batches(batch_size=chunk_size):
                df = batch.to_pandas()
                df.columns = unique_names(list(df.columns))
                yield df
        elif kind == "xlsx":
            yield from _read_xlsx(_binary_source(path), path, chunk_size)
        else:
            raise InputError(f"{path}: unsupported format {kind!r}")
    except UnicodeDecodeError as exc:
        stdin = _LineCountingStdin.current
        if path == "-":
            where = stdin.line_of(exc) if stdin and isinstance(exc.object, bytes) else None
        else:
            where = undecodable_line(path, gz, encoding)
        at = f"line {where[0]}: bytes {where[1]!r}" if where else f"bytes {exc.start}-{exc.end} of a chunk"
        raise InputError(
            f"{path}: {at} are not valid {encoding} ({exc.reason}); "
            "pass --encoding (e.g. latin-1) or --encoding-errors replace"
        ) from None


def undecodable_line(path: str, gz: bool, encoding: str) -> tuple[int, bytes] | None:
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
            header = unique_names(header)
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
                yield _records_frame(rows)
                rows = []
    if rows:
        yield _records_frame(rows)


def _records_frame(rows: list[Any]) -> pd.DataFrame:
    # Object dtype, as the CSV reader gives: pandas would otherwise turn a numeric id column into
    # floats (1 -> 1.0) as soon as one row lacks it.
    return pd.DataFrame(rows, dtype=object)


def _read_lines(path, gz, chunk_size, encoding, errors) -> Iterator[pd.DataFrame]:
    """One comment per line (a .txt file): columns ``line`` (1-based) and ``text``; blank lines skipped."""
    rows: list[tuple[int, str]] = []
    with _text_stream(path, gz, encoding, errors) as fh:
        for n, line in enumerate(fh, 1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            rows.append((n, text))
            if len(rows) == chunk_size:
                yield pd.DataFrame(rows, columns=["line", "text"])
                rows = []
    if rows:
        yield pd.DataFrame(rows, columns=["line", "text"])


def _read_xlsx(source, path: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # zipfile / openpyxl errors for a file that is not a workbook
        raise InputError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = unique_names(list(next(rows, ())))
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
    p = path.lower()
    gz = p.endswith(".gz")
    p = p.removesuffix(".gz")
    name = fmt
    if not name:
        for ext, guess in (
            (".jsonl", "jsonl"),
            (".ndjson", "jsonl"),
            (".csv", "csv"),
            (".tsv", "tsv"),
            (".parquet", "parquet"),
            (".xlsx", "xlsx"),
        ):
            if p.endswith(ext):
                name = guess
                break
        else:
            raise InputError(
                f"{path}: unknown output format (use .jsonl, .csv, .tsv, .parquet or .xlsx, optionally .gz)"
            )
    if gz and name in ("parquet", "xlsx"):
        raise InputError(f"{path}: {name} files are compressed already; drop the .gz")
    return name


def write_chunk(df: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write one tagged chunk to its own file (joined by :func:`join_chunks`)."""
    if fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt in ("csv", "tsv"):
        df.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
    elif fmt in ("parquet", "xlsx"):
        # xlsx cannot be appended to in a stream: its chunks are kept as Parquet, which keeps the
        # column types, and converted at the end.
        import pyarrow.parquet as pq

        pq.write_table(_to_arrow(df), path)
    else:
        raise InputError(f"unsupported output format {fmt!r}")


def _to_arrow(df: pd.DataFrame):
    """An Arrow table of a chunk; a column of mixed Python types (JSON ids that are numbers in some
    rows and strings in others) becomes strings instead of failing the job."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        fixed = df.copy()
        for col in fixed.columns:
            try:
                pa.array(fixed[col], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                fixed[col] = fixed[col].map(lambda v: v if v is None or v != v else str(v))
        return pa.Table.from_pandas(fixed, preserve_index=False)


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
    """Concatenate chunk files into ``out`` atomically (temporary file, then rename).

    Chunks need not have the same columns: a JSONL export whose later rows bring new keys, or a column
    empty in the first chunk, gives the union of the columns (in order of first appearance), with
    missing values empty.
    """
    tmp = out.with_name(out.name + ".tmp")
    try:
        if fmt in ("jsonl", "csv", "tsv"):
            with (gzip.open if out.name.lower().endswith(".gz") else open)(tmp, "wb") as dst:
                if fmt == "jsonl":
                    for p in parts:
                        _copy(p, dst)
                else:
                    _join_delimited(parts, dst, "\t" if fmt == "tsv" else ",")
        elif fmt in ("parquet", "xlsx"):
            _join_arrow(parts, tmp, fmt)
        else:
            raise InputError(f"unsupported output format {fmt!r}")
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy(path: Path, dst, skip_header: bool = False) -> None:
    with open(path, "rb") as src:
        if skip_header:
            src.readline()
        while block := src.read(1 << 20):
            dst.write(block)


def _header(path: Path, sep: str) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh, delimiter=sep), [])


def _join_delimited(parts: list[Path], dst, sep: str) -> None:
    headers = [_header(p, sep) for p in parts]
    columns: list[str] = []
    for h in headers:
        columns += [c for c in h if c not in columns]
    for n, (p, h) in enumerate(zip(parts, headers, strict=True)):
        if h == columns:
            # The common case, every chunk alike: bytes copied as they are.
            _copy(p, dst, skip_header=n > 0)
        else:
            chunk = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
            dst.write(chunk.reindex(columns=columns).to_csv(index=False, header=n == 0, sep=sep).encode("utf-8"))


def _join_arrow(parts: list[Path], tmp: Path, fmt: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = unified_schema([pq.read_schema(p) for p in parts])
    if fmt == "xlsx":
        frames = [_conform(pq.read_table(p), schema).to_pandas() for p in parts]
        (pd.concat(frames) if frames else pd.DataFrame()).to_excel(tmp, index=False, engine="openpyxl")
        return
    with pq.ParquetWriter(tmp, schema if parts else pa.schema([])) as writer:
        for p in parts:
            writer.write_table(_conform(pq.read_table(p), schema))


def unified_schema(schemas: list):
    """One schema for all chunks: every column any chunk has; a column that is all-null in one chunk
    takes its type from the others; a column typed differently in different chunks becomes strings."""
    import pyarrow as pa

    types: dict[str, list] = {}
    for sch in schemas:
        for f in sch:
            types.setdefault(f.name, []).append(f.type)
    fields = []
    for name, ts in types.items():
        try:
            merged = pa.unify_schemas([pa.schema([(name, t)]) for t in ts], promote_options="permissive")
            fields.append(merged.field(name))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


def _conform(table, schema):
    """``table`` with ``schema``'s columns, in its order and types (missing columns all null)."""
    import pyarrow as pa

    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.nulls(len(table), f.type))
            continue
        col = table.column(f.name)
        if col.type == f.type:
            columns.append(col)
        elif pa.types.is_string(f.type) and not pa.types.is_null(col.type):
            columns.append(pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string()))
        else:
            columns.append(col.cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)
