"""Bulk tagging and the Python API, on the bundled default model and real comments."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxnlp import Tagger
from cxnlp.cli import app
from cxnlp.data import load_records

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_comments.csv"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype=str).head(120)


def test_tag_result_and_evidence_offsets(tagger: Tagger) -> None:
    text = "The hotel was fine. The receptionist was rude and ignored us. Breakfast was good."
    r = tagger.tag(text)
    assert {"coldness", "friendliness-"} <= set(r.keys)
    for t in r.tags:
        assert text[t.start : t.end] == t.evidence and 0 < t.score <= 1
        assert t.polarity == ("positive" if t.key.endswith("+") else "negative")
    cold = next(t for t in r.tags if t.key == "coldness")
    assert cold.label == "coldness" and "rude" in cold.evidence and "Breakfast" not in cold.evidence
    json.dumps(r.to_dict())


def test_tag_many_on_a_generator_and_bad_values(tagger: Tagger, sample) -> None:
    gen = (t for t in sample["comment"])
    out = list(tagger.tag_many(gen, batch_size=7))
    assert len(out) == len(sample)
    odd = list(tagger.tag_many(iter([None, float("nan"), "", "  ", 42, "Lovely friendly staff"])))
    assert [r.status for r in odd] == ["empty", "empty", "empty", "empty", "ok", "ok"]
    assert "friendliness+" in odd[-1].keys


def test_pickle_threads_and_frame(tagger: Tagger, sample) -> None:
    clone = pickle.loads(pickle.dumps(tagger))
    assert len(pickle.dumps(tagger)) < 500  # pickles as its path, not the weights
    texts = sample["comment"].tolist()[:40]
    expected = [r.keys for r in tagger.tag_batch(texts)]
    results = {}

    def work(n: int) -> None:
        results[n] = [r.keys for r in clone.tag_batch(texts)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(v == expected for v in results.values())
    wide = tagger.tag_frame(sample.head(10), "comment", format="wide")
    assert list(wide.columns[:3]) == ["id", "source", "comment"] and "tag_coldness" in wide.columns


def test_long_evidence_in_a_100k_character_comment(tagger: Tagger) -> None:
    from cxnlp.models.model import DOC_WINDOW

    # Filler: real comments that carry no label (an export cell that glued many together).
    filler = [r["text"] for r in load_records()["train"] if not r["labels"]]
    sentence = "The agent hung up on me twice."
    text = "\n".join(filler)[:100_000] + "\n" + sentence
    assert len(text) > 100_000
    # The comment is scored window by window (DOC_WINDOW characters of consecutive segments), so the 97,500
    # characters before the sentence's window cannot lower its score: the 100k comment scores at least what
    # its last window scores alone. (Whether the window's own filler drowns the sentence is the model's
    # business: the session-11 and session-13 defaults tag it in 7 and 6 of 10 shuffles of this filler.)
    segs = tagger.model.segment([text])[0]
    first = 0  # the last window, cut from the start as CXModel.pooled_scores cuts them
    for i in range(1, len(segs)):
        if segs[i].end - segs[first].start > DOC_WINDOW:
            first = i
    window = text[segs[first].start :]
    whole = tagger.tag(text)
    assert whole.scores["brush_off"] >= tagger.tag(window).scores["brush_off"] - 1e-4
    # Said three times, the sentence outweighs its window's filler: tagged, its evidence found in the whole text.
    text = "\n".join(filler)[:100_000] + "\n" + "\n".join([sentence] * 3)
    hang = [t for t in tagger.tag(text).tags if t.key == "brush_off"]
    assert hang and text[hang[0].start : hang[0].end] == hang[0].evidence and "hung up" in hang[0].evidence


def _write_inputs(df: pd.DataFrame, d: Path) -> dict[str, Path]:
    paths = {
        "csv": d / "in.csv",
        "tsv": d / "in.tsv",
        "jsonl": d / "in.jsonl",
        "json": d / "in.json",
        "parquet": d / "in.parquet",
        "xlsx": d / "in.xlsx",
        "csv.gz": d / "in.csv.gz",
    }
    df.to_csv(paths["csv"], index=False)
    df.to_csv(paths["tsv"], index=False, sep="\t")
    df.to_json(paths["jsonl"], orient="records", lines=True)
    df.to_json(paths["json"], orient="records")
    df.to_parquet(paths["parquet"], index=False)
    df.to_excel(paths["xlsx"], index=False)
    with gzip.open(paths["csv.gz"], "wt", encoding="utf-8") as fh:
        df.to_csv(fh, index=False)
    return paths


def test_every_input_format_round_trips(tmp_path: Path, sample, tagger: Tagger) -> None:
    df = sample.head(30).copy()
    df["extra"] = range(len(df))
    df["extra"] = df["extra"].astype(str)
    expected = [r.keys for r in tagger.tag_batch(df["comment"].tolist())]
    for kind, path in _write_inputs(df, tmp_path).items():
        out = tmp_path / f"out-{kind.replace('.', '-')}.jsonl"
        res = runner.invoke(app, ["tag", str(path), "--out", str(out), "--batch-size", "8"])
        assert res.exit_code == 0, (kind, res.output)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["id"] for r in rows] == df["id"].tolist(), kind
        assert [str(r["extra"]) for r in rows] == df["extra"].tolist(), kind
        assert [[t["key"] for t in r["tags"]] for r in rows] == expected, kind


def test_wide_csv_parquet_and_xlsx_outputs(tmp_path: Path, sample) -> None:
    df = sample.head(20)
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    for ext in ("csv", "parquet", "xlsx"):
        out = tmp_path / f"out.{ext}"
        res = runner.invoke(app, ["tag", str(src), "--out", str(out), "--batch-size", "6"])
        assert res.exit_code == 0, res.output
        got = {"csv": pd.read_csv, "parquet": pd.read_parquet, "xlsx": pd.read_excel}[ext](out)
        assert len(got) == 20 and got["id"].tolist() == df["id"].tolist()
        assert {"score_coldness", "tag_coldness", "evidence", "comment", "source"} <= set(got.columns)
        assert set(got["tag_coldness"].unique()) <= {0, 1}


def test_bad_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    # Record 1 spans lines 2-3 (a quoted newline), so the malformed record is on physical line 4.
    bad.write_text('id,comment\n1,"Rude\nclerk"\n2,"ok",extra,fields\n3,\n4,Lovely staff\n1,dup id\n', "utf-8")
    out = tmp_path / "bad.tagged.jsonl"
    res = runner.invoke(app, ["tag", str(bad), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3", "4", "1"]  # CSV values are kept as written
    assert rows[1]["status"] == "empty" and rows[0]["status"] == "ok"
    assert "1 rejected" in res.output and "line 4: malformed CSV row with 4 fields" in res.output
    assert rows[0]["comment"] == "Rude\nclerk"
    assert "repeat an id" in res.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,comment\n1,Nice\n2,Caf\xe9 staff were rude\n".encode("latin-1"))
    res = runner.invoke(app, ["tag", str(latin), "--out", str(tmp_path / "l.jsonl")])
    assert res.exit_code == 1 and "line 3:" in res.output and "not valid utf-8" in res.output
    assert "--encoding" in res.output
    res = runner.invoke(app, ["tag", str(latin), "--out", str(tmp_path / "l.jsonl"), "--encoding-errors", "replace"])
    assert res.exit_code == 0
    # stdin cannot be scanned twice: its line is counted as it is read (past the CSV reader's first 64 KB read)
    piped = "id,comment\n" + "".join(f"{i},Nice staff on line {i + 2}\n" for i in range(6000))
    piped_bytes = piped.encode() + latin.read_bytes()
    res = runner.invoke(app, ["tag", "-", "--out", str(tmp_path / "p.jsonl")], input=piped_bytes)
    assert res.exit_code == 1 and "-: line 6004: " in res.output, res.output
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("a,b\n1,2\n", "utf-8")
    res = runner.invoke(app, ["tag", str(nocol), "--out", str(tmp_path / "n.jsonl")])
    assert res.exit_code == 1 and "columns: a, b" in res.output
    badjson = tmp_path / "b.jsonl"
    badjson.write_text('{"text": "Rude staff"}\n{not json\n{"text": "Nice staff"}\n', "utf-8")
    res = runner.invoke(app, ["tag", str(badjson), "--out", str(tmp_path / "bj.jsonl")])
    assert res.exit_code == 0 and "line 2: not valid JSON" in res.output and "2 rows read" in res.output


def test_interrupted_job_resumes_to_identical_output(tmp_path: Path) -> None:
    df = pd.read_csv(SAMPLE, dtype=str)
    big = pd.concat([df] * 4, ignore_index=True)  # 1,200 rows
    src = tmp_path / "big.csv"
    big.to_csv(src, index=False)
    clean = tmp_path / "clean.jsonl"
    res = runner.invoke(app, ["tag", str(src), "--out", str(clean), "--batch-size", "50"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "resumed.jsonl"
    parts = tmp_path / "resumed.jsonl.parts"
    cmd = [sys.executable, "-m", "cxnlp", "tag", str(src), "--out", str(out), "--batch-size", "50", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some, not all, chunks are done
        state = parts / "progress.json"
        if state.exists() and len(json.loads(state.read_text()).get("done", {})) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and parts.exists()
    res = runner.invoke(app, ["tag", str(src), "--out", str(out), "--batch-size", "50"])
    assert res.exit_code == 1 and "--resume" in res.output
    res = runner.invoke(app, ["tag", str(src), "--out", str(out), "--batch-size", "50", "--resume"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == clean.read_bytes()
    assert not parts.exists()


def test_workers_give_the_same_output(tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    pd.read_csv(SAMPLE, dtype=str).head(200).to_csv(src, index=False)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert runner.invoke(app, ["tag", str(src), "--out", str(one), "--batch-size", "40"]).exit_code == 0
    res = runner.invoke(app, ["tag", str(src), "--out", str(two), "--batch-size", "40", "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert one.read_bytes() == two.read_bytes()


def test_sklearn_wrapper(sample) -> None:
    from sklearn.pipeline import Pipeline

    from cxnlp import CXClassifier

    pipe = Pipeline([("cx", CXClassifier())])
    texts = sample["comment"].tolist()[:5]
    proba = pipe.fit(texts).predict_proba(texts)
    assert proba.shape == (5, 27) and ((proba >= 0) & (proba <= 1)).all()
    assert pipe.predict(texts).shape == (5, 27)


def _tag(args: list[str]):
    res = runner.invoke(app, ["tag", *args])
    return res


def test_exports_whose_columns_change_between_chunks(tmp_path: Path, sample, tagger: Tagger) -> None:
    texts = sample["comment"].tolist()[:6]
    # JSON lines: a key that appears only from the fourth row, the text key missing from one row.
    rows = [{"id": i, "text": t} for i, t in enumerate(texts)]
    for r in rows[3:]:
        r["agent"] = f"agent {r['id']}"
    del rows[4]["text"]
    src = tmp_path / "drift.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    for ext in ("csv", "parquet", "xlsx", "jsonl"):
        out = tmp_path / f"drift-out.{ext}"
        res = _tag([str(src), "--out", str(out), "--batch-size", "2", "--format", "wide"])
        assert res.exit_code == 0, (ext, res.output)
        reader = {"csv": pd.read_csv, "parquet": pd.read_parquet, "xlsx": pd.read_excel}.get(ext)
        got = reader(out) if reader else pd.read_json(out, lines=True)
        assert got["id"].tolist() == list(range(6)), ext
        assert got["agent"].isna().tolist() == [True] * 3 + [False] * 3, ext
        assert got["agent"].tolist()[3:] == ["agent 3", "agent 4", "agent 5"], ext
        assert got["status"].tolist() == ["ok"] * 4 + ["empty", "ok"], ext
        # every key's calibrated score, tagged or not, as the model gives it; none for empty text
        want = tagger.predict_proba(texts[:4])
        for j, k in enumerate(tagger.keys):
            assert got[f"score_{k}"].tolist()[:4] == pytest.approx(want[:, j], abs=1e-4), (ext, k)
        assert got[f"score_{tagger.keys[0]}"].isna().tolist()[4], ext
    # xlsx keeps the types: numbers stay numbers
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "drift-out.xlsx").active
    header = [c.value for c in ws[1]]
    first = [c.value for c in ws[2]]
    assert first[header.index("id")] == 0 and isinstance(first[header.index("score_coldness")], float)

    # A column empty in the first chunk and a first chunk with no tag (long format), both to Parquet.
    csv_src = tmp_path / "sparse.csv"
    pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "comment": ["Average.", "Fine.", texts[0], texts[1]],
            "store": [None, None, "A", "B"],
        }
    ).to_csv(csv_src, index=False)
    for layout in ("long", "wide"):
        out = tmp_path / f"sparse-{layout}.parquet"
        res = _tag([str(csv_src), "--out", str(out), "--batch-size", "2", "--format", layout])
        assert res.exit_code == 0, (layout, res.output)
        got = pd.read_parquet(out)
        assert got["store"].tolist()[2:] == ["A", "B"] and got["id"].tolist() == ["1", "2", "3", "4"]


def test_export_quirks(tmp_path: Path, sample, tagger: Tagger) -> None:
    texts = sample["comment"].tolist()[:3]
    expected = [r.keys for r in tagger.tag_batch(texts)]
    # Excel's "CSV UTF-8" (a byte-order mark) and a repeated header
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + pd.DataFrame({"comment": texts, "id": [1, 2, 3]}).to_csv(index=False).encode())
    res = _tag([str(bom), "--out", str(tmp_path / "bom.jsonl")])
    assert res.exit_code == 0, res.output
    got = [json.loads(x) for x in (tmp_path / "bom.jsonl").read_text().splitlines()]
    assert [[t["key"] for t in r["tags"]] for r in got] == expected and list(got[0])[:2] == ["comment", "id"]
    dup = tmp_path / "dup.csv"
    dup.write_text("id,Comment,Comment\n1,a,b\n", "utf-8")
    res = _tag([str(dup), "--out", str(tmp_path / "dup.jsonl"), "--text-column", "Comment.1"])
    assert res.exit_code == 0, res.output
    row = json.loads((tmp_path / "dup.jsonl").read_text())
    assert row["Comment"] == "a" and row["Comment.1"] == "b"
    # one comment per line
    txt = tmp_path / "c.txt"
    lines = [" ".join(t.split()) for t in texts[:2]]  # a comment with commas must stay one comment
    txt.write_text(f"{lines[0]}\n\n{lines[1]}\n", "utf-8")
    res = _tag([str(txt), "--out", str(tmp_path / "c.jsonl")])
    got = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert res.exit_code == 0 and [r["line"] for r in got] == [1, 3] and [r["text"] for r in got] == lines
    # compressed text outputs are compressed
    src = tmp_path / "in.csv"
    pd.DataFrame({"comment": texts}).to_csv(src, index=False)
    for name in ("o.jsonl.gz", "o.csv.gz"):
        assert _tag([str(src), "--out", str(tmp_path / name)]).exit_code == 0
        with gzip.open(tmp_path / name, "rt") as fh:
            back = pd.read_json(fh, lines=True) if "jsonl" in name else pd.read_csv(fh)
        assert back["comment"].tolist() == texts, name
    # refused in one line, nothing overwritten
    before = src.read_bytes()
    for args, msg in [
        ([str(src), "--out", str(src)], "would overwrite the input"),
        ([str(tmp_path / "none.csv")], "no such file"),
        ([str(src), "--encoding", "utf8x"], "unknown encoding"),
        ([str(src), "--encoding-errors", "bogus"], "--encoding-errors"),
        ([str(src), "--out", str(tmp_path / "o.parquet.gz")], "drop the .gz"),
        ([str(src), "--input-format", "jsonl", "--out", str(tmp_path / "j.jsonl")], "every row was rejected"),
    ]:
        res = _tag(args)
        assert res.exit_code == 1 and msg in res.output and "Traceback" not in res.output, (args, res.output)
    assert src.read_bytes() == before


def test_tag_frame_keeps_input_columns(tagger: Tagger, sample) -> None:
    df = sample.head(5)[["comment"]].assign(status="open", tags="vip")
    out = tagger.tag_frame(df, "comment")
    assert out["status"].tolist() == ["open"] * 5 and out["tags"].tolist() == ["vip"] * 5
    assert out["cx_status"].tolist() == ["ok"] * 5 and out.columns.is_unique
    with pytest.raises(ValueError, match="'long' or 'wide'"):
        tagger.tag_frame(df, "comment", format="tall")


def test_bundled_models_by_name(tmp_path: Path, monkeypatch) -> None:
    from cxnlp.inference import DEFAULT_MODEL, resolve_model

    monkeypatch.chdir(tmp_path)
    assert resolve_model(None) == resolve_model("cx-default") == DEFAULT_MODEL
    assert resolve_model("cx-accurate") == DEFAULT_MODEL.parent / "cx-accurate"
    assert resolve_model("no-such-model") == Path("no-such-model")  # left for the loader to report
    assert resolve_model("./cx-accurate") == Path("cx-accurate")  # paths the user typed stay paths
    assert resolve_model("cx-accurate/") == Path("cx-accurate")
    (tmp_path / "cx-default").mkdir()  # a directory of that name here is what the user means
    assert resolve_model("cx-default") == Path("cx-default")
    r = runner.invoke(app, ["tag", "-", "--model", "no-such-model", "--out", "t.jsonl"], input="text\nhi\n")
    assert r.exit_code != 0 and "no-such-model: model directory not found" in r.output


def test_bundled_accurate_model_reproduces_its_metrics() -> None:
    """cx-accurate ships its encoder as float16 tensors over the backbone package: loaded, it must score
    out-of-domain dev exactly as its metrics.json (written when it was made) says, and tag with evidence."""
    from cxnlp.evaluation import evaluate_records
    from cxnlp.inference import resolve_model

    tagger = Tagger.load("cx-accurate")
    model = tagger.model
    assert model.family == "ensemble" and [m.family for m in model.members] == ["fast", "encoder"]
    recorded = json.loads((resolve_model("cx-accurate") / "metrics.json").read_text())["ood_dev"]
    now = evaluate_records(model, load_records(None)["ood_dev"])
    # recorded on a CPU; a GPU runs the encoder in bfloat16, which may flip a borderline comment
    tol = 0 if model.members[1].scorer.device.type == "cpu" else 0.02
    assert now["micro"]["f1"] == pytest.approx(recorded["micro"]["f1"], abs=tol)
    assert now["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=tol)
    text = "Checkout was quick. The agent hung up on me twice and never called back."
    r = tagger.tag(text)
    assert "brush_off" in r.keys
    for t in r.tags:
        assert text[t.start : t.end] == t.evidence


# A cue word and the same cue under a negation (CheckList's minimum functionality tests, Ribeiro et al. 2020).
# Session 17's default tagged the key in every negated sentence here; the negation features and round 7's
# comments (session 18) are what this pins down.
NEGATION_PAIRS = [
    ("The cashier was rude to me.", "The cashier was not rude to me, she was lovely.", "coldness"),
    (
        "He was condescending when I asked a question.",
        "He wasn't condescending when I asked a question.",
        "condescension",
    ),
    ("The agent read from a script.", "The agent didn't read from a script, she listened.", "robotism"),
    ("The manager hid behind policy.", "The manager did not hide behind policy and refunded us.", "rulebook"),
    ("I was passed from department to department.", "I was never passed from department to department.", "runaround"),
    ("The nurse was patient with my father.", "The nurse was not patient with my father.", "patience+"),
    ("The waiter was friendly.", "The waiter was not friendly.", "friendliness+"),
]


@pytest.mark.parametrize("plain, negated, key", NEGATION_PAIRS, ids=[k for *_, k in NEGATION_PAIRS])
def test_the_default_model_reads_negation(tagger: Tagger, plain: str, negated: str, key: str) -> None:
    assert key in {t.key for t in tagger.tag(plain).tags}
    assert key not in {t.key for t in tagger.tag(negated).tags}
