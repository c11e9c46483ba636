"""The Spark engine on a real local Spark (local[2], loopback), against the single-process tagger.

Skipped when PySpark (the ``cxnlp[spark]`` extra) or a Java that PySpark 4 runs on is missing.  One
SparkSession (one JVM) serves the whole module.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'cxnlp[spark]')")

from cxnlp import Tagger  # noqa: E402
from cxnlp import spark as cxs  # noqa: E402
from cxnlp.cli import app  # noqa: E402
from cxnlp.inference import long_row, wide_row  # noqa: E402
from cxnlp.io import InputError  # noqa: E402
from cxnlp.models.base import ModelDirError  # noqa: E402

# PySpark 4.3 warns about pandas >= 3 (the conversions used are tested here) and uses a keyword that
# pandas 3 deprecates; neither is ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
BATCH = 250
PARTITIONS = 4


def _java_problem() -> str | None:
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "Java is not installed (PySpark 4 needs Java 17 or 21)"
    try:
        cxs.check_java()
    except cxs.SparkSetupError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def spark():
    problem = _java_problem()
    if problem:
        pytest.skip(problem)
    unset = {v: v not in os.environ for v in ("PYSPARK_PYTHON", "SPARK_LOCAL_IP")}
    session = cxs.spark_session("local[2]", app_name="cxnlp-tests", batch_size=BATCH)
    session.unset = unset
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


@pytest.fixture(scope="module")
def comments() -> pd.DataFrame:
    """2,000 real comments (1,700 annotated + the 300 of the bundled sample) and a few edge cases."""
    rows = []
    for split in ("train", "dev", "test"):
        with open(ROOT / f"data/annotated/{split}.jsonl", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    sample = pd.read_csv(ROOT / "data/sample_comments.csv", dtype=str).rename(columns={"comment": "text"})
    annotated = pd.DataFrame(rows)[["id", "source", "text"]]
    # Some sample comments were annotated too: results are matched by id, so ids must be unique.
    annotated = annotated[~annotated["id"].isin(sample["id"])].sample(n=1700, random_state=7)
    long_text = " ".join(annotated["text"].head(40))  # one ~30,000-character comment: windows
    edge = pd.DataFrame(
        {
            "id": ["edge-empty", "edge-null", "edge-space", "edge-long"],
            "source": "edge",
            "text": ["", None, "   \n ", long_text],
        }
    )
    return pd.concat([annotated, sample, edge], ignore_index=True)


def _assert_same_tags(got: list[dict], want: list[dict], where: str) -> None:
    assert [t["key"] for t in got] == [t["key"] for t in want], where
    for g, w in zip(got, want, strict=True):
        assert abs(g["score"] - w["score"]) <= 1e-6, where
        assert {k: g[k] for k in w if k != "score"} == {k: w[k] for k in w if k != "score"}, where


def test_workers_run_the_drivers_python_on_loopback(spark) -> None:
    import cxnlp

    def probe(_):
        import pandas as p

        import cxnlp as c

        return sys.executable, c.__file__, p.__version__

    seen = set(spark.sparkContext.parallelize(range(4), 2).map(probe).collect())
    if spark.unset["PYSPARK_PYTHON"]:
        assert seen == {(sys.executable, cxnlp.__file__, pd.__version__)}
    if spark.unset["SPARK_LOCAL_IP"]:
        assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"
        assert spark.conf.get("spark.driver.host") == "127.0.0.1"


def test_long_format_equals_tag_many_row_for_row(spark, tagger: Tagger, comments: pd.DataFrame) -> None:
    sdf = spark.createDataFrame(comments).repartition(PARTITIONS)
    stats = spark.sparkContext.accumulator({}, cxs.WorkerStats())
    out = cxs.tag_dataframe(sdf, "text", format="long", batch_size=BATCH, stats=stats)
    assert out.columns == ["id", "source", "text", "status", "tags"]
    assert out.schema["tags"].dataType.elementType == cxs.TAG_STRUCT
    got = {r["id"]: r for r in (row.asDict(recursive=True) for row in out.collect())}
    assert len(got) == len(comments)
    want = [long_row(r) for r in tagger.tag_many(comments["text"], batch_size=BATCH)]
    for (_, row), w in zip(comments.iterrows(), want, strict=True):
        g = got[row["id"]]
        assert g["text"] == (None if pd.isna(row["text"]) else row["text"]) and g["source"] == row["source"]
        assert g["status"] == w["status"], row["id"]
        _assert_same_tags(g["tags"], w["tags"], row["id"])
    assert got["edge-null"]["status"] == got["edge-space"]["status"] == "empty"
    assert got["edge-long"]["tags"] and sum(len(g["tags"]) for g in got.values()) > len(comments)
    # Each Python worker loaded the model once (not once per batch, nor once per task), and no Arrow
    # batch was larger than batch_size.
    per_worker = stats.value
    assert sum(s["rows"] for s in per_worker.values()) == len(comments)
    assert all(s["loads"] <= 1 for s in per_worker.values()), per_worker
    assert sum(s["loads"] for s in per_worker.values()) < PARTITIONS, per_worker
    assert sum(s["batches"] for s in per_worker.values()) >= len(comments) / BATCH
    assert max(s["max_rows"] for s in per_worker.values()) <= BATCH
    assert int(spark.conf.get(cxs.ARROW_BATCH_CONF)) <= BATCH


def test_wide_format_shipped_model_and_name_clash(spark, tagger: Tagger, comments: pd.DataFrame, tmp_path) -> None:
    df = comments.iloc[1700:2000].copy()  # the bundled sample
    df["status"] = "survey-closed"  # an input column that tagging also adds: becomes cx_status
    model = tmp_path / "cx-shipped"
    shutil.copytree(ROOT / "models/cx-default", model)
    out = cxs.tag_dataframe(spark.createDataFrame(df), "text", model=model, format="wide", ship_model=True)
    keys = tagger.keys
    expected_cols = ["id", "source", "text", "status", "cx_status"]
    expected_cols += [c for k in keys for c in (f"score_{k}", f"tag_{k}")] + ["evidence"]
    assert out.columns == expected_cols
    types = dict(out.dtypes)
    assert types[f"score_{keys[0]}"] == "double" and types[f"tag_{keys[0]}"] == "int"
    got = out.toPandas().set_index("id")
    for text_id, r in zip(df["id"], tagger.tag_many(df["text"]), strict=True):
        w, g = wide_row(r, keys), got.loc[text_id]
        assert g["status"] == "survey-closed" and g["cx_status"] == w["status"]
        assert g["evidence"] == w["evidence"], text_id
        for k in keys:
            assert g[f"tag_{k}"] == w[f"tag_{k}"] and abs(g[f"score_{k}"] - w[f"score_{k}"]) <= 1e-6, (text_id, k)


def test_typed_columns_pass_through(spark) -> None:
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField("n", T.LongType()),
            T.StructField("ok", T.BooleanType()),
            T.StructField("at", T.TimestampType()),
            T.StructField("day", T.DateType()),
            T.StructField("amount", T.DecimalType(10, 2)),
            T.StructField("labels", T.ArrayType(T.StringType())),
            T.StructField("meta", T.MapType(T.StringType(), T.IntegerType())),
            T.StructField("where", T.StructType([T.StructField("x", T.DoubleType())])),
            T.StructField("raw", T.BinaryType()),
            T.StructField("text", T.StringType()),
        ]
    )
    rows = [
        (1, True, datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(2024, 1, 2), decimal.Decimal("9.50"),
         ["a"], {"k": 1}, (0.5,), b"\x00\xff", "The clerk was rude and ignored us."),
        (None,) * 10,
    ]  # fmt: skip
    sdf = spark.createDataFrame(rows, schema)
    out = cxs.tag_dataframe(sdf).collect()
    assert [r[:10] for r in out] == [tuple(r) for r in sdf.collect()]
    assert out[0]["status"] == "ok" and "coldness" in [t["key"] for t in out[0]["tags"]]
    assert out[1]["status"] == "empty" and out[1]["tags"] == []


def test_multiline_csv_through_the_cli_matches_the_local_engine(spark, tmp_path) -> None:
    df = pd.read_csv(ROOT / "data/sample_comments.csv", dtype=str).head(150)
    tricky = [
        'She said "we don\'t do refunds"\nand hung up.\n\nNobody called back.',
        "Ends with a backslash \\",
        'A "quoted\r\nline" with, commas',
        "",
    ]
    df = pd.concat([df, pd.DataFrame({"id": [f"t{i}" for i in range(len(tricky))], "source": "x", "comment": tricky})])
    src = tmp_path / "multi.csv"
    df.to_csv(src, index=False)
    n = len(pd.read_csv(src, dtype=str))
    assert n == len(df) and df["comment"].str.contains("\n").sum() > 10
    # The trap: Spark's default CSV options split quoted line breaks into rows (or merge rows).
    assert spark.read.option("header", True).csv(str(src)).count() != n

    local = tmp_path / "local.jsonl"
    res = runner.invoke(app, ["tag", str(src), "--out", str(local), "--format", "long"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "spark-out"
    cmd = ["tag", str(src), "--engine", "spark", "--master", "local[2]", "--out", str(out), "--format", "long"]
    res = runner.invoke(app, [*cmd, "--no-progress"])
    assert res.exit_code == 0, res.output
    assert f"{n} rows read" in res.output and "top tags:" in res.output
    assert list(out.glob("part-*.parquet"))
    got = pd.read_parquet(out)
    assert len(got) == n and sorted(got["id"]) == sorted(df["id"])
    got = got.set_index("id")
    for line in local.read_text(encoding="utf-8").splitlines():
        want = json.loads(line)
        g = got.loc[str(want["id"])]
        assert (g["comment"] if isinstance(g["comment"], str) else None) == want["comment"]
        assert g["status"] == want["status"]
        _assert_same_tags([dict(t) for t in g["tags"]], want["tags"], want["id"])
    res = runner.invoke(app, cmd)
    assert res.exit_code == 1 and "already exists" in res.output


def test_clear_errors(spark, tmp_path, monkeypatch) -> None:
    sdf = spark.createDataFrame(pd.DataFrame({"id": ["1"], "comment": ["Rude clerk"]}))
    with pytest.raises(InputError, match=r"column 'text' not found; columns are: id, comment"):
        cxs.tag_dataframe(sdf)
    with pytest.raises(ModelDirError, match="readable by every executor.*addFile"):
        cxs.tag_dataframe(sdf, "comment", model=tmp_path / "no-such-model")
    with pytest.raises(InputError, match="use long or wide"):
        cxs.tag_dataframe(sdf, "comment", format="tall")
    # Readable on the driver when planned, not in the worker when run: the worker says so too.
    gone = tmp_path / "gone-model"
    shutil.copytree(ROOT / "models/cx-default", gone)
    lazy = cxs.tag_dataframe(sdf, "comment", model=gone)
    shutil.rmtree(gone)
    with pytest.raises(Exception, match="gone-model: model directory not found.*readable by every executor"):
        lazy.collect()

    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    base = ["tag", str(src), "--engine", "spark", "--no-progress"]
    cases = [
        ([*base, "--out", str(tmp_path / "o1")], "(columns: a, b)"),
        ([*base, "--out", str(tmp_path / "o1"), "--text-column", "nope"], "column 'nope' not found; columns are: a, b"),
        ([*base, "--out", str(tmp_path / "o2"), "--text-column", "b", "--model", str(tmp_path / "nope")],
         "readable by every executor"),
        ([*base, "--out", str(tmp_path / "o3"), "--resume"], "--resume is for the local engine"),
        ([*base, "--out", str(tmp_path / "o4"), "--workers", "2"], "--master local[N]"),
        ([*base], "needs --out"),
        (["tag", str(tmp_path / "missing.csv"), "--engine", "spark", "--out", str(tmp_path / "o5")], "no such file"),
        (["tag", str(src), "--engine", "dask", "--out", str(tmp_path / "o6")], "use local or spark"),
    ]  # fmt: skip
    for args, message in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 1 and message in res.output, (args, res.output)
        assert len([line for line in res.output.splitlines() if line.strip()]) == 1, res.output
        assert not (tmp_path / "o1").exists()

    # Java: missing, and a version PySpark 4 does not run on.
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    with pytest.raises(cxs.SparkSetupError, match="Java not found.*17 or 21"):
        cxs.check_java()
    fake = tmp_path / "jdk11" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(fake.parent.parent))
    with pytest.raises(cxs.SparkSetupError, match="is Java 11; PySpark .* runs on Java 17 or 21"):
        cxs.check_java()
    monkeypatch.setattr(cxs.SparkSession, "getActiveSession", staticmethod(lambda: None))
    res = runner.invoke(app, [*base, "--text-column", "b", "--out", str(tmp_path / "o7")])
    assert res.exit_code == 1 and "is Java 11" in res.output and "17 or 21" in res.output, res.output
    assert cxs.java_major('java version "1.8.0_392"') == 8 and cxs.java_major('openjdk version "21.0.4"') == 21
