from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cxnlp import __version__
from cxnlp.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_labels_json_has_the_guideline_labels(labels_md: Path) -> None:
    result = runner.invoke(app, ["labels", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [lab["name"] for lab in data["labels"]]
    assert len(names) == 17
    text = labels_md.read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}`" in text
    assert sum(lab["kind"] == "skill" for lab in data["labels"]) == 10


def test_labels_table() -> None:
    result = runner.invoke(app, ["labels"])
    assert result.exit_code == 0
    assert "27 keys" in result.stdout and "runaround" in result.stdout


def test_broken_taxonomy_is_a_one_line_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\nversion = "1"\n[[labels]]\nname = "a"\nkind = "skill"\n', encoding="utf-8")
    result = runner.invoke(app, ["labels", "--taxonomy", str(broken)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "broken.toml" in lines[0] and "'description'" in lines[0]


def test_evaluate_prints_table_and_writes_metrics_and_report(tmp_path: Path) -> None:
    import shutil

    from cxnlp.data import load_records, write_jsonl

    model = tmp_path / "model"
    shutil.copytree(Path(__file__).resolve().parents[1] / "models" / "cx-default", model)
    sample = tmp_path / "sample.jsonl"
    write_jsonl(sample, load_records(None)["dev"][:60])
    result = runner.invoke(app, ["evaluate", str(model), "--data", str(sample), "--no-baselines"])
    assert result.exit_code == 0, result.output
    assert "micro F1" in result.output and "friendliness+" in result.output
    metrics = json.loads((model / "metrics.json").read_text())
    scored = metrics["sample.jsonl"]
    assert scored["n_comments"] == 60 and set(scored["per_label"]) >= {"coldness", "brush_off"}
    assert "test" in metrics  # the splits scored before are kept
    html = (model / "report_sample.jsonl.html").read_text()
    assert html.count("<img") >= 1 and "friendliness+" in html  # the per-label chart and table
    assert "sample.jsonl" in (model / "README.md").read_text()  # the card lists the new evaluation
    assert not [p for p in model.iterdir() if ".tmp" in p.name]


def test_evaluate_out_leaves_the_model_directory_untouched(tmp_path: Path) -> None:
    """--out: the scores and report go to another directory, for a model that is shared or read-only; a
    place that cannot be written is a one-line error that says so."""
    import shutil

    from cxnlp.data import load_records, write_jsonl

    model = tmp_path / "model"
    shutil.copytree(Path(__file__).resolve().parents[1] / "models" / "cx-default", model)
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    sample = tmp_path / "sample.jsonl"
    write_jsonl(sample, load_records(None)["dev"][:40])
    out = tmp_path / "results"
    result = runner.invoke(app, ["evaluate", str(model), "--data", str(sample), "--no-baselines", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before
    assert set(json.loads((out / "metrics.json").read_text())) == {"sample.jsonl", "sample.jsonl_baselines"}
    assert "friendliness+" in (out / "report_sample.jsonl.html").read_text()
    args = ["evaluate", str(model), "--data", str(sample), "--no-baselines"]

    def one_line_error(*extra: str) -> str:
        # the scores are printed first; the error is the one line after them
        result = runner.invoke(app, args + list(extra))
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 1 and lines[-1].startswith("error:"), result.output
        assert sum("error" in line for line in lines) == 1, result.output
        return lines[-1]

    # a place that cannot be written (here a file where the directory should be) is a one-line error
    blocked = tmp_path / "blocked"
    blocked.write_text("mine")
    assert "cannot save the evaluation to" in one_line_error("--out", str(blocked))
    assert blocked.read_text() == "mine"
    # a report path that cannot be written is named, and the scores saved before are left as they were
    line = one_line_error("--report", str(blocked / "r.html"))
    assert str(blocked) in line and "--out" not in line
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before
    # an --out whose metrics.json is something else is refused, not overwritten
    (out / "metrics.json").write_text("[1]")
    assert "not a metrics file" in one_line_error("--out", str(out))
    assert (out / "metrics.json").read_text() == "[1]"


def test_train_refuses_an_existing_output_before_training(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["train", "--out", str(out), "--seed", "0"])
    assert result.exit_code == 1 and "already exists" in result.output
    assert (out / "keep.txt").read_text() == "mine"
    afile = tmp_path / "afile.csv"
    afile.write_text("x")
    result = runner.invoke(app, ["train", "--out", str(afile)])
    assert result.exit_code == 1 and "not a directory" in result.output


def test_evaluate_unknown_split_is_a_one_line_error() -> None:
    model = Path(__file__).resolve().parents[1] / "models" / "cx-default"
    result = runner.invoke(app, ["evaluate", str(model), "--split", "foo", "--no-baselines"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "'foo'" in lines[0] and "ood_wide_test" in lines[0]


def test_train_adds_a_users_file_to_the_data(small_data: Path, tmp_path: Path) -> None:
    """--add-data: the user's comments join train and dev; a comment the data already has (here one of its
    test comments, in other case and spacing) is left out; custom column names are read."""
    import csv

    from cxnlp.data import load_records

    base = load_records(small_data)
    mine = [r for r in load_records()["dev"][1::3] if r["text"] not in {x["text"] for x in base["dev"]}][:60]
    leaked = base["test"][0]
    f = tmp_path / "survey.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Verbatim", "Tags"])
        w.writerows([r["text"], ";".join(r["labels"])] for r in mine)
        w.writerow(["  " + leaked["text"].upper(), ";".join(leaked["labels"])])
    out = tmp_path / "m"
    args = ["train", "--data", str(small_data), "--add-data", str(f), "--text-column", "Verbatim"]
    args += ["--labels-column", "Tags", "--out", str(out), "--set", "hidden=0", "--set", "static_dim=0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 comments already in the data left out" in result.output
    cfg = json.loads((out / "config.json").read_text())
    added = cfg["training_data"]["added"]
    assert added["train"] + added["dev"] == len(mine) and 8 <= added["dev"] <= 16
    comments = cfg["training_data"]["comments"]
    assert comments["train"] == len(base["train"]) + added["train"]
    assert comments["dev"] == len(base["dev"]) + added["dev"]
    assert cfg["train_config"]["add_data"] == str(f) and cfg["train_config"]["text_column"] == "Verbatim"
    assert f"{added['dev']} to dev" in (out / "README.md").read_text()
