from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cxnlp import Taxonomy
from cxnlp.data import (
    DataError,
    iterative_stratification,
    load,
    load_records,
    near_duplicate_pairs,
    normalize,
    read_label_studio,
    read_labeled,
)


@pytest.fixture(scope="module")
def splits():
    return load_records()


def test_load_dataset_dict() -> None:
    d = load()
    optional = {"train_synthetic", "ood_dev", "ood_test", "ood_wide_dev", "ood_wide_test"}
    optional |= {"negation_dev", "negation_test"}
    assert {"train", "dev", "test"} <= set(d) <= {"train", "dev", "test"} | optional
    assert sum(len(d[s]) for s in ("train", "dev", "test")) >= 2500
    names = d["train"].features["labels"].feature.names  # a list of ClassLabel over the 27 keys
    assert names == list(Taxonomy.default().keys)
    row = d["test"][0]
    assert isinstance(row["labels"], list) and isinstance(row["text"], str)


def test_synthetic_comments_are_flagged_and_kept_out_of_real_splits(splits) -> None:
    for name, rows in splits.items():
        synthetic = name not in ("train", "dev", "test")
        assert all(r["synthetic"] is synthetic for r in rows), name
        assert all(r["source"].startswith("synthetic:") == synthetic for r in rows), name
    # the out-of-domain evaluation comments never appear in any training file, even after normalisation
    train_texts = {normalize(r["text"]) for s in ("train", "train_synthetic") for r in splits.get(s, [])}
    evaluation = ("ood_dev", "ood_test", "ood_wide_dev", "ood_wide_test", "negation_dev", "negation_test")
    assert not any(normalize(r["text"]) in train_texts for s in evaluation for r in splits.get(s, []))
    # ood_wide's domains (round 6) are ones no training writer used
    train_domains = {r["source"] for r in splits["train_synthetic"]}
    assert splits["ood_wide_test"] and not {r["source"] for r in splits["ood_wide_test"]} & train_domains
    # and so are the negation set's (session 18)
    negation = {r["source"] for s in ("negation_dev", "negation_test") for r in splits[s]}
    assert len(negation) >= 10 and not negation & train_domains


def test_every_span_matches_its_text(splits) -> None:
    n = 0
    for rows in splits.values():
        for r in rows:
            assert {sp["label"] for sp in r["spans"]} == set(r["labels"]), r["id"]
            for sp in r["spans"]:
                quote = r["text"][sp["start"] : sp["end"]]
                assert quote.strip() and quote == quote.strip(), (r["id"], sp)
                n += 1
    assert n > 2000


def test_splits_are_disjoint_also_after_normalisation(splits) -> None:
    ids = {s: {r["id"] for r in rows} for s, rows in splits.items()}
    norm = {s: {normalize(r["text"]) for r in rows} for s, rows in splits.items()}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not ids[a] & ids[b]
        assert not norm[a] & norm[b]


def test_labels_exist_in_default_taxonomy_and_records_are_real(splits) -> None:
    keys = set(Taxonomy.default().keys)
    for name, rows in splits.items():
        for r in rows:
            assert set(r["labels"]) <= keys
            if name in ("train", "dev", "test"):
                assert r["source"] in ("hotel_reviews_515k", "cfpb_narratives")
            assert r["annotator"] and r["guideline"] == "1.1"
    # dev and test never hold synthetic text
    assert not any(r.get("synthetic") for s in ("dev", "test") for r in splits[s])


def test_no_label_share_is_realistic(splits) -> None:
    rows = [r for s in splits.values() for r in s]
    assert sum(not r["labels"] for r in rows) / len(rows) >= 0.25


def test_near_duplicates_found_exactly() -> None:
    texts = [
        "The staff at reception were very friendly and helpful during our whole stay",
        "the staff at reception were VERY friendly and helpful during our whole stay!",
        "Breakfast was cold and the room was tiny but the location was great",
    ]
    assert near_duplicate_pairs(texts) == [(0, 1)]


def test_iterative_stratification_keeps_rare_labels_in_every_split() -> None:
    labels = [["rare"] if i % 20 == 0 else (["common"] if i % 2 else []) for i in range(400)]
    assign = iterative_stratification(labels, {"train": 0.6, "dev": 0.2, "test": 0.2}, seed=1)
    for split in ("train", "dev", "test"):
        rare = sum(1 for a, lab in zip(assign, labels, strict=True) if a == split and "rare" in lab)
        assert rare >= 3
    groups = [i // 2 for i in range(400)]  # pairs must stay together
    assign = iterative_stratification(labels, {"train": 0.6, "dev": 0.2, "test": 0.2}, seed=1, groups=groups)
    assert all(assign[i] == assign[i + 1] for i in range(0, 400, 2))


def test_read_user_csv_both_layouts(tmp_path: Path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text('id,text,labels\n1,"Rude clerk, ignored us",coldness;friendliness-\n2,Lovely staff,\n', "utf-8")
    recs = read_labeled(p)
    assert recs[0]["labels"] == ["friendliness-", "coldness"] and recs[1]["labels"] == []
    w = tmp_path / "wide.csv"
    w.write_text("comment,coldness,friendliness-\nRude clerk,1,1\nFine,0,0\n", "utf-8")
    recs = read_labeled(w, text_column="comment")
    assert recs[0]["labels"] == ["friendliness-", "coldness"]


def test_read_user_csv_of_free_text_written_by_the_csv_module(tmp_path: Path) -> None:
    # Real comments (commas, semicolons, quotes, line breaks) defeat csv.Sniffer on the rows; the
    # delimiter comes from the header line.
    texts = [
        'Staff said "not my job", then hung up; no one called back.',
        "Fine, I guess.\nThe pharmacist was kind; she explained everything, twice.",
        "Clerk rude | manager worse",
    ] * 10
    labels = [["brush_off", "apathy"], ["empathy+"], []] * 10
    for name, delimiter in (("comma.csv", ","), ("semicolon.csv", ";"), ("tabs.tsv", "\t")):
        p = tmp_path / name
        with p.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter=delimiter)
            w.writerow(["review", "labels"])
            w.writerows([t, ";".join(lab)] for t, lab in zip(texts, labels, strict=True))
        recs = read_labeled(p, text_column="review")
        assert [r["text"] for r in recs] == texts, name
        assert [set(r["labels"]) for r in recs] == [set(lab) for lab in labels], name


def test_user_data_errors_name_file_row_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"text": "ok", "labels": []}) + "\n" + json.dumps({"text": "x", "labels": ["warmth+"]}))
    with pytest.raises(DataError, match=r"bad\.jsonl: row 2: column 'labels': unknown label 'warmth\+'"):
        read_labeled(p)
    s = tmp_path / "span.jsonl"
    s.write_text(
        json.dumps(
            {
                "text": "The clerk was rude",
                "labels": ["coldness"],
                "spans": [{"label": "coldness", "start": 14, "end": 18, "text": "curt"}],
            }
        )
    )
    with pytest.raises(DataError, match=r"span\.jsonl: row 1: column 'spans'\[0\]"):
        read_labeled(s)
    c = tmp_path / "wide.csv"
    c.write_text("text,coldness\nRude,yes\n", "utf-8")
    with pytest.raises(DataError, match=r"wide\.csv: row 2: column 'coldness': expected 0 or 1"):
        read_labeled(c)
    # rows are file lines (header = row 1), a quoted comment with line breaks counted in full, and the
    # message names the user's own column
    m = tmp_path / "multi.csv"
    m.write_text('review,tags\n"Clerk was rude.\nVery rude.",coldness;friendliness-\nFine,\n  ,coldness\n', "utf-8")
    with pytest.raises(DataError, match=r"multi\.csv: row 5: column 'review': missing or empty"):
        read_labeled(m, text_column="review", labels_column="tags")
    m.write_text('review,tags\n"Clerk was rude.\nVery rude.",coldness;friendliness-\nOk,rudeness\n', "utf-8")
    with pytest.raises(DataError, match=r"multi\.csv: row 4: column 'tags': unknown label 'rudeness'"):
        read_labeled(m, text_column="review", labels_column="tags")


def test_label_studio_export(tmp_path: Path) -> None:
    export = [
        {
            "id": 7,
            "data": {"text": "The agent hung up on me. She was rude."},
            "annotations": [
                {
                    "created_at": "2026-01-01",
                    "result": [
                        {
                            "type": "labels",
                            "value": {
                                "start": 0,
                                "end": 24,
                                "text": "The agent hung up on me.",
                                "labels": ["brush_off"],
                            },
                        },
                        {"type": "choices", "value": {"choices": ["coldness", "friendliness-"]}},
                    ],
                }
            ],
        }
    ]
    p = tmp_path / "ls.json"
    p.write_text(json.dumps(export), "utf-8")
    (rec,) = read_label_studio(p)
    assert rec["id"] == "7"
    assert rec["labels"] == ["friendliness-", "brush_off", "coldness"]
    assert rec["spans"] == [{"label": "brush_off", "start": 0, "end": 24, "text": "The agent hung up on me."}]
    # A task nobody annotated yet is skipped (not read as "no label"); taxonomy choices count; no id: numbered.
    export.append({"data": {"text": "Waited an hour, nobody came."}, "annotations": []})
    export.append(
        {
            "data": {"text": "Nobody at the desk even looked up."},
            "annotations": [{"result": [{"type": "taxonomy", "value": {"taxonomy": [["Sins", "apathy"]]}}]}],
        }
    )
    p.write_text(json.dumps(export), "utf-8")
    with pytest.warns(UserWarning, match="1 tasks without an annotation were skipped"):
        recs = read_label_studio(p)
    assert [r["id"] for r in recs] == ["7", "task-3"] and recs[1]["labels"] == ["apathy"]
    p.write_text(json.dumps([{"data": {"text": "Fine."}, "annotations": []}]), "utf-8")
    with pytest.raises(DataError, match="none of its 1 tasks has an annotation"):
        read_label_studio(p)
    # a plain JSON array of records is read as records
    p.write_text(json.dumps([{"text": "The clerk was rude.", "labels": ["friendliness-"]}]), "utf-8")
    assert read_label_studio(p)[0]["labels"] == ["friendliness-"]


def test_synthetic_training_labels_are_the_writers_joined_with_a_blind_reading(splits) -> None:
    """A synthetic training comment's first reading is the union of its writer's labels and a blind reader's;
    rounds 8-9 read them again under the rulings (round 8 those whose first reading has a negative label or a
    sin), and a comment they re-read holds their result (test_reread_comments_... checks which)."""
    root = Path(__file__).resolve().parents[1] / "data" / "annotation"

    def rows_of(pattern: str) -> dict[str, dict]:
        return {r["id"]: r for f in root.glob(pattern) for r in map(json.loads, f.read_text("utf-8").splitlines())}

    written, read = rows_of("synthetic/syn*/part_*.jsonl"), rows_of("raw/annsyn*/*.jsonl")
    # round 6 (writers syn32-syn38) is the ood_wide evaluation set: its readers' labels alone, never trained on
    # (or, once round 7 has re-read them, what test_reread_comments_... checks)
    wide = {r["id"]: r for s in ("ood_wide_dev", "ood_wide_test") for r in splits[s]}
    assert len(wide) == 1050
    assert all(set(read[i]["labels"]) == set(r["labels"]) for i, r in wide.items() if "(round 7:" not in r["annotator"])
    written = {i: w for i, w in written.items() if i not in wide}
    rows = splits["train_synthetic"]
    assert len(rows) == len(written) and len(read) >= 1000
    round_of: dict[str, int] = {}
    for n in (8, 9):
        for f in root.glob(f"batches/r{n}read_*.jsonl"):
            for r in map(json.loads, f.read_text("utf-8").splitlines()):
                assert r["id"] not in round_of, r["id"]  # the two rounds read disjoint sets
                round_of[r["id"]] = n
    # rounds 8-9 read every comment written before them; round 7 of the writers (syn39-syn42, session 18) was
    # written and read under the rulings and is not read again
    later = {r["id"] for r in rows if int(r["id"].split("-")[0][3:]) >= 39}
    assert len(later) == 600 and set(round_of) == {r["id"] for r in rows} - later
    for r in rows:
        mine, theirs = written[r["id"]], read.get(r["id"], {})
        assert ("+annsyn" in r["annotator"]) == (r["id"] in read), r["id"]
        first = set(mine["labels"]) | set(theirs.get("labels", []))
        if r["id"] in round_of:
            # the union chose the round: a negative label or a sin in it -> round 8
            assert round_of[r["id"]] == (8 if any(not k.endswith("+") for k in first) else 9), r["id"]
            if f"(round {round_of[r['id']]}: adjudicated" in r["annotator"]:
                continue
        # not re-read, or re-read with the same labels: either way the union of writer and reader
        assert set(r["labels"]) == first, r["id"]
        if "second reading agreed" in r["annotator"]:
            continue  # the quotes are the new reader's
        # each label's quote is the writer's where the writer gave it, else the reader's
        for sp in r["spans"]:
            source = mine if sp["label"] in mine["labels"] else theirs
            assert r["text"][sp["start"] : sp["end"]] == source["evidence"][sp["label"]], (r["id"], sp)
    # the reader adds labels the writer left out, so the union is strictly larger
    union = sum(len(set(w["labels"]) | set(read.get(i, {}).get("labels", []))) for i, w in written.items())
    assert union > sum(len(w["labels"]) for w in written.values())


def test_reread_comments_hold_the_agreed_reading_or_the_adjudication(splits) -> None:
    """Rounds 5-9: a comment read twice carries the second reading's labels where the two readings agreed
    (its annotator field says so) and the adjudicator's labels otherwise, read from the raw files."""
    raw = Path(__file__).resolve().parents[1] / "data" / "annotation" / "raw"

    def answers(pattern: str) -> dict[str, dict]:
        return {
            r["id"]: {**r, "by": f.parent.name}
            for f in sorted(raw.glob(f"*/{pattern}"))
            for r in map(json.loads, f.read_text(encoding="utf-8").splitlines())
        }

    stats = json.loads((raw.parent / "stats.json").read_text(encoding="utf-8"))
    applied = [n for n in (5, 6, 7, 8, 9) if stats.get(f"round{n}", {}).get("applied")]
    assert 5 in applied
    checked = 0
    ood = ("ood_dev", "ood_test", "ood_wide_dev", "ood_wide_test")
    synthetic = ("train_synthetic",)
    for n, names in ((5, ("dev", "test")), (6, ("train",)), (7, ood), (8, synthetic), (9, synthetic)):
        if n not in applied:  # recorded, not applied: the comments keep their first reading
            assert not any(f"(round {n}:" in r["annotator"] for s in names for r in splits[s])
            continue
        second, adjudicated = answers(f"r{n}read_*.jsonl"), answers(f"r{n}adj_*.jsonl")
        for r in (r for s in names for r in splits[s] if r["id"] in second):
            if f"(round {n}: adjudicated by" in r["annotator"]:
                final = adjudicated[r["id"]]
                assert r["annotator"].endswith(f"adjudicated by {final['by']})"), r["id"]
            else:
                assert f"(round {n}: second reading agreed)" in r["annotator"], r["id"]
                final = second[r["id"]]
            assert set(r["labels"]) == set(final["labels"]), r["id"]
            checked += 1
    # every dev and test comment was read twice in round 5
    assert all("(round 5:" in r["annotator"] for s in ("dev", "test") for r in splits[s])
    assert checked >= len(splits["dev"]) + len(splits["test"])


def test_negation_set_gold_is_the_reader_or_the_adjudication(splits) -> None:
    """The negation set (session 18): the blind reader's labels, or the adjudicator's where writer and reader
    disagreed; never the writer's alone."""
    root = Path(__file__).resolve().parents[1] / "data" / "annotation"

    def rows_of(pattern: str) -> dict[str, dict]:
        return {r["id"]: r for f in root.glob(pattern) for r in map(json.loads, f.read_text("utf-8").splitlines())}

    written, read, adjudicated = (
        rows_of("synthetic/neg*/part_*.jsonl"),
        rows_of("raw/annneg*/*.jsonl"),
        rows_of("raw/adjneg/*.jsonl"),
    )
    rows = {r["id"]: r for s in ("negation_dev", "negation_test") for r in splits[s]}
    assert len(rows) == len(written) == len(read) == 300
    disagree = {i for i in read if set(read[i]["labels"]) != set(written[i]["labels"])}
    assert set(adjudicated) == disagree and len(disagree) == 59
    for i, r in rows.items():
        gold = adjudicated.get(i, read[i])
        assert set(r["labels"]) == set(gold["labels"]), i
        assert ("(adjudicated by adjneg)" in r["annotator"]) == (i in adjudicated), i
