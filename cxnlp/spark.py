"""Tagging Spark DataFrames (the optional ``cxnlp[spark]`` extra).

:func:`tag_dataframe` adds the tags to a Spark DataFrame with ``mapInPandas``:
Spark hands each Python worker its partitions as an iterator of Arrow record
batches (converted to pandas), and the function tags them batch by batch.  The
function pickles as the model *path* and a few settings, never the weights;
each Python worker loads the model once (a per-process cache keyed by path and
``min_score``) and reuses it for every batch and every task it runs.  The rows
are built by :func:`cxnlp.inference.long_row` / :func:`~cxnlp.inference.wide_row`,
so the content is the same as ``cxnlp tag`` writes for the same rows.

:func:`spark_session` starts a session with the settings that avoid the usual
local-mode traps (Java version, worker Python, loopback address, Arrow batch
size), and :func:`read_comments` reads CSV/TSV/JSONL/JSON/Parquet files,
directories or globs (CSV with ``multiLine`` and RFC 4180 quoting, so quoted
comments with line breaks stay one row).  ``cxnlp tag --engine spark`` is built
from these three.

Tested with PySpark 4.3.0 on Java 17, pandas 3.1.1 and pyarrow 26 (see
``requirements/constraints.txt``).  PySpark 4.3 warns that pandas >= 3 is not
yet fully supported; the conversions used here (strings, numbers, booleans,
dates, timestamps, decimals, arrays, structs, maps, binary and nulls passed
through, arrays of structs produced) are covered by ``tests/test_spark.py``,
and only that one warning is silenced.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from glob import glob, has_magic
from pathlib import Path
from typing import Any

import pandas as pd

try:
    import pyspark
    from pyspark import SparkFiles
    from pyspark.accumulators import AccumulatorParam
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("cxnlp.spark needs PySpark: pip install 'cxnlp[spark]'") from exc

from cxnlp.inference import Tagger, long_row, resolve_model, wide_row
from cxnlp.io import EXTENSIONS, InputError
from cxnlp.models.base import ModelDirError

# The Java versions Spark 4.x runs on ("Spark runs on Java 17/21", spark.apache.org/docs).
SUPPORTED_JAVA = (17, 21)
ARROW_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
PANDAS3_WARNING = r"PySpark does not yet fully support pandas >= 3"
SHIP_HINT = (
    "the model path must be readable by every executor (shared storage mounted at the same path), "
    "or shipped to them with ship_model=True / --ship-model (SparkContext.addFile)"
)


class SparkSetupError(RuntimeError):
    """Spark cannot start here (Java missing or of an unsupported version)."""


# ------------------------------------------------------------------ schemas
TAG_STRUCT = T.StructType(
    [
        T.StructField("label", T.StringType()),
        T.StructField("polarity", T.StringType()),
        T.StructField("key", T.StringType()),
        T.StructField("score", T.DoubleType()),
        T.StructField("evidence", T.StringType()),
        T.StructField("start", T.IntegerType()),
        T.StructField("end", T.IntegerType()),
    ]
)


def added_fields(keys: list[str] | tuple[str, ...], format: str) -> list[T.StructField]:
    """The columns tagging adds: ``status`` + ``tags`` (long) or status, score_/tag_ per key, evidence (wide)."""
    if format == "long":
        return [T.StructField("status", T.StringType()), T.StructField("tags", T.ArrayType(TAG_STRUCT))]
    if format == "wide":
        per_key = []
        for k in keys:
            per_key += [T.StructField(f"score_{k}", T.DoubleType()), T.StructField(f"tag_{k}", T.IntegerType())]
        return [T.StructField("status", T.StringType()), *per_key, T.StructField("evidence", T.StringType())]
    raise InputError(f"format {format!r}: use long or wide")


def _renames(input_columns: list[str], added: list[str]) -> dict[str, str]:
    # As `cxnlp tag` does, an added column whose name the input already uses gets a cx_ prefix.  Spark
    # resolves names case-insensitively by default, so the clash test is too.
    taken = {c.lower() for c in input_columns}
    return {c: f"cx_{c}" for c in added if c.lower() in taken}


def added_names(input_columns: list[str], added: list[str]) -> dict[str, str]:
    """Each added column's name in the output (``cx_``-prefixed where the input has that name)."""
    renames = _renames(input_columns, added)
    return {c: renames.get(c, c) for c in added}


# ------------------------------------------------------- the worker function
_TAGGERS: dict[tuple[str, float | None], Tagger] = {}  # one per model and Python worker process


def worker_tagger(path: str, min_score: float | None = None) -> tuple[Tagger, bool]:
    """This process's tagger for ``path`` (loaded on first use); also whether this call loaded it."""
    key = (path, min_score)
    tagger = _TAGGERS.get(key)
    if tagger is not None:
        return tagger, False
    try:
        tagger = Tagger.load(path, min_score)
    except ModelDirError as exc:
        raise ModelDirError(f"{exc} (on host {socket.gethostname()}); {SHIP_HINT}") from None
    _TAGGERS[key] = tagger
    return tagger, True


class WorkerStats(AccumulatorParam):
    """Accumulates ``{pid: {"loads", "batches", "rows", "max_rows"}}`` from the Python workers (diagnostics)."""

    def zero(self, value: dict) -> dict:
        return {}

    def addInPlace(self, a: dict, b: dict) -> dict:
        for pid, s in b.items():
            mine = a.setdefault(pid, {"loads": 0, "batches": 0, "rows": 0, "max_rows": 0})
            for k in ("loads", "batches", "rows"):
                mine[k] += s[k]
            mine["max_rows"] = max(mine["max_rows"], s["max_rows"])
        return a


@dataclass(frozen=True)
class TagBatches:
    """The ``mapInPandas`` function: pickles as these few fields; the model is loaded in the worker."""

    model: str  # a path every executor can read, or the name of a file shipped with addFile
    shipped: bool
    text_col: str
    format: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]  # output column order
    renames: dict[str, str] = field(default_factory=dict)
    batch_size: int = 1000
    min_score: float | None = None
    stats: Any = None  # an accumulator with WorkerStats, or None

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)
        path = SparkFiles.get(self.model) if self.shipped else self.model
        for pdf in batches:
            tagger, loaded = worker_tagger(path, self.min_score)
            if self.stats is not None:
                self.stats.add(
                    {os.getpid(): {"loads": int(loaded), "batches": 1, "rows": len(pdf), "max_rows": len(pdf)}}
                )
            # Spark bounds the Arrow batch (spark.sql.execution.arrow.maxRecordsPerBatch); slicing again
            # bounds the tagging memory even where a session raised that setting after tag_dataframe.
            for start in range(0, len(pdf), self.batch_size):
                yield self._tag(tagger, pdf.iloc[start : start + self.batch_size])

    def _tag(self, tagger: Tagger, pdf: pd.DataFrame) -> pd.DataFrame:
        col = pdf[self.text_col]
        texts = col.astype(object).where(col.notna(), None).tolist()  # pd.NA / NaN -> None -> "empty"
        results = tagger.tag_batch(texts)
        wide = self.format == "wide"
        rows = [wide_row(r, self.keys) if wide else long_row(r) for r in results]
        extra = pd.DataFrame(rows, index=pdf.index).rename(columns=self.renames)
        return pd.concat([pdf, extra], axis=1)[list(self.columns)]


# -------------------------------------------------------------- public API
def tag_dataframe(
    sdf: DataFrame,
    text_col: str = "text",
    model: str | Path | None = None,
    format: str = "long",
    batch_size: int = 1000,
    min_score: float | None = None,
    ship_model: bool = False,
    stats: Any = None,
) -> DataFrame:
    """Tag the comments in ``sdf[text_col]``; returns a lazy DataFrame: the input columns + the tags.

    ``format="long"``: ``status`` string and ``tags`` array<struct<label, polarity, key, score double,
    evidence, start int, end int>>.  ``format="wide"``: ``status``, ``score_<key>`` double and ``tag_<key>``
    0/1 int per key, and ``evidence``.  An added column whose name the input already uses is prefixed
    ``cx_``.  ``model`` (default: the bundled model) is checked here on the driver; it must be readable at
    the same path by every executor, or pass ``ship_model=True`` to copy it to them with
    ``SparkContext.addFile``.  Each Python worker loads it once.  ``batch_size`` bounds the rows per Arrow
    batch: the session's ``spark.sql.execution.arrow.maxRecordsPerBatch`` is lowered to it when higher
    (a session setting, read when the job runs), so long comments do not make huge batches.  ``stats``:
    optionally an accumulator made with :class:`WorkerStats` (``sc.accumulator({}, WorkerStats())``); after
    an action it holds, per Python worker process, the model loads, batches and rows it handled.
    """
    fn, schema = tagging_plan(sdf, text_col, model, format, batch_size, min_score, ship_model, stats)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)
        return sdf.mapInPandas(fn, schema)


def check_model(path: str | Path, min_score: float | None = None) -> list[str]:
    """Load the model on the driver (its keys), or fail saying where executors must find it."""
    try:
        return Tagger.load(path, min_score).keys
    except ModelDirError as exc:
        raise ModelDirError(f"{exc}; {SHIP_HINT}") from None


def tagging_plan(
    sdf: DataFrame,
    text_col: str = "text",
    model: str | Path | None = None,
    format: str = "long",
    batch_size: int = 1000,
    min_score: float | None = None,
    ship_model: bool = False,
    stats: Any = None,
) -> tuple[TagBatches, T.StructType]:
    """The checked ``mapInPandas`` function and output schema behind :func:`tag_dataframe`."""
    if batch_size < 1:
        raise InputError(f"batch_size {batch_size}: must be at least 1")
    columns = list(sdf.columns)
    if text_col not in columns:
        raise InputError(f"column {text_col!r} not found; columns are: {', '.join(columns)}")
    path = resolve_model(model)
    keys = tuple(check_model(path, min_score))  # fail here, on the driver, before any job starts
    added = added_fields(keys, format)
    renames = _renames(columns, [f.name for f in added])
    schema = T.StructType(
        list(sdf.schema.fields) + [T.StructField(renames.get(f.name, f.name), f.dataType) for f in added]
    )
    spark = sdf.sparkSession
    if ship_model:
        spark.sparkContext.addFile(str(path.resolve()), recursive=True)
    try:
        current = int(spark.conf.get(ARROW_BATCH_CONF))
    except (TypeError, ValueError):
        current = 0
    if current <= 0 or current > batch_size:
        spark.conf.set(ARROW_BATCH_CONF, str(batch_size))
    fn = TagBatches(
        model=path.name if ship_model else str(path.resolve()),
        shipped=ship_model,
        text_col=text_col,
        format=format,
        keys=keys,
        columns=tuple(schema.names),
        renames=renames,
        batch_size=batch_size,
        min_score=min_score,
        stats=stats,
    )
    return fn, schema


# ----------------------------------------------------------------- session
def java_major(version_output: str) -> int | None:
    """The major version in ``java -version`` output: 'version "17.0.15"' -> 17, '"1.8.0_392"' -> 8."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def check_java() -> int:
    """Find Java as spark-submit does (JAVA_HOME, else PATH) and check its version; returns the major."""
    need = " or ".join(map(str, SUPPORTED_JAVA))
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    where = f"JAVA_HOME={home}" if home else "PATH"
    if not java or not os.access(java, os.X_OK):
        raise SparkSetupError(
            f"Java not found (looked in {where}): PySpark {pyspark.__version__} needs Java {need}; "
            "install one and set JAVA_HOME or put java on PATH"
        )
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SparkSetupError(
            f"{java} -version failed ({exc}); PySpark {pyspark.__version__} needs Java {need}"
        ) from None
    major = java_major(proc.stderr + proc.stdout)
    if major not in SUPPORTED_JAVA:
        found = f"Java {major}" if major else "an unrecognised Java"
        raise SparkSetupError(
            f"{java} ({where}) is {found}; PySpark {pyspark.__version__} runs on Java {need}: "
            "point JAVA_HOME at one of those"
        )
    return major


def spark_session(
    master: str = "local[*]",
    app_name: str = "cxnlp",
    conf: dict[str, str] | None = None,
    batch_size: int = 1000,
    progress: bool = False,
) -> SparkSession:
    """Get or start a SparkSession, after checking Java.

    In local mode the Python workers run this interpreter (``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON``
    are set to ``sys.executable`` when unset, so they import the same cxnlp and pandas) and Spark binds
    to the loopback address (``SPARK_LOCAL_IP=127.0.0.1`` when unset).  Python workers are reused, so each
    loads the model once.  ``conf`` entries win over these defaults.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_java()
    local = master.startswith("local")
    settings = {
        "spark.python.worker.reuse": "true",
        ARROW_BATCH_CONF: str(batch_size),
        "spark.ui.showConsoleProgress": str(progress).lower(),
    }
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings |= {
            "spark.driver.host": os.environ["SPARK_LOCAL_IP"],
            "spark.driver.bindAddress": os.environ["SPARK_LOCAL_IP"],
            "spark.ui.enabled": "false",
        }
    settings |= conf or {}
    builder = SparkSession.builder.master(master).appName(app_name)
    for k, v in settings.items():
        builder = builder.config(k, v)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ------------------------------------------------------------------ reading
# Spark reads every format the local engine does except Excel.
_EXTENSIONS = tuple((ext, kind) for ext, kind in EXTENSIONS if kind != "xlsx")


def _kind_of(name: str) -> str | None:
    p = name.lower().removesuffix(".gz")
    return next((kind for ext, kind in _EXTENSIONS if p.endswith(ext)), None)


def input_kind(path: str, fmt: str | None = None) -> str:
    """csv, tsv, jsonl, json or parquet, from ``fmt``, the name, or (a directory) the files inside it."""
    if fmt:
        kind = fmt.lower().lstrip(".")
        kind = {"ndjson": "jsonl", "txt": "csv"}.get(kind, kind)
        if kind not in {k for _, k in _EXTENSIONS}:
            raise InputError(f"--input-format {fmt!r}: the Spark engine reads csv, tsv, jsonl, json or parquet")
        return kind
    if path == "-":
        raise InputError("the Spark engine reads files, directories or globs, not stdin")
    kind = _kind_of(path.rstrip("/"))
    if kind is None and "://" not in path and Path(path).is_dir():
        found = {_kind_of(f.name) for f in Path(path).rglob("*") if f.is_file() and not f.name.startswith((".", "_"))}
        found.discard(None)
        if len(found) == 1:
            kind = found.pop()
    if kind is None:
        if path.lower().endswith(".xlsx"):
            raise InputError(f"{path}: the Spark engine does not read .xlsx; convert it, or use the local engine")
        raise InputError(
            f"{path}: cannot tell the format; use .csv, .tsv, .jsonl, .json or .parquet, or --input-format"
        )
    return kind


def read_comments(spark: SparkSession, path: str, fmt: str | None = None, encoding: str = "utf-8") -> DataFrame:
    """Read a file, directory or glob; CSV/TSV columns are all strings (as ``cxnlp tag`` reads them).

    CSV is read with ``multiLine`` and RFC 4180 quoting (``quote='"'``, ``escape='"'``): a quoted comment
    with line breaks, doubled quotes or a trailing backslash stays one row.  Multi-line CSV files cannot
    be split, so callers repartition (see :func:`spread`).
    """
    kind = input_kind(path, fmt)
    if "://" not in path and not (glob(path) if has_magic(path) else Path(path).exists()):
        raise InputError(f"{path}: no such file, directory or glob match")
    reader = spark.read
    if kind in ("csv", "tsv"):
        reader = reader.options(
            header=True,
            multiLine=True,
            quote='"',
            escape='"',
            sep="\t" if kind == "tsv" else ",",
            encoding=encoding,
            inferSchema=False,
            mode="PERMISSIVE",
        )
        return reader.csv(path)
    if kind in ("jsonl", "json"):
        # .jsonl: one object per line; .json: an array of objects (or one object) over many lines.
        return reader.options(multiLine=kind == "json", encoding=encoding, mode="DROPMALFORMED").json(path)
    return reader.parquet(path)


def spread(sdf: DataFrame, partitions: int | None = None) -> DataFrame:
    """Repartition to ``partitions``, or to the default parallelism when the input has fewer partitions."""
    want = partitions or sdf.sparkSession.sparkContext.defaultParallelism
    have = sdf.rdd.getNumPartitions()
    if partitions or have < want:
        return sdf.repartition(want)
    return sdf
