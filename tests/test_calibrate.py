"""`cxnlp calibrate` / cxnlp.calibrate: adapting calibration and thresholds to a labeled sample."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cxnlp
from cxnlp import Tagger
from cxnlp.calibration import SLOPE_STRENGTH, CalibrationWarning, PlattCalibrator, recalibrate
from cxnlp.cli import app
from cxnlp.data import DataError, label_matrix, read_jsonl
from cxnlp.models.base import ModelDirError
from cxnlp.models.model import CXModel

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "models" / "cx-default"
runner = CliRunner()


@pytest.fixture(scope="module")
def model() -> CXModel:
    return CXModel.load(DEFAULT)


@pytest.fixture(scope="module")
def ood() -> list[dict]:
    return read_jsonl(ROOT / "data" / "annotated" / "ood_dev.jsonl")


def _digest(path: Path) -> dict[str, str]:
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(path.rglob("*"))}


def test_refit_moves_a_key_with_many_positives_more_than_one_with_few() -> None:
    # Two keys whose true log-odds are the stored ones plus 2; key 0 has 267 positives, key 1 has 19.
    # The refitted offset recovers most of the shift for key 0 and much less for key 1: the prior's
    # pull is fixed, the data's grows with the positives.
    rng = np.random.default_rng(0)
    s = np.column_stack([rng.normal(-1.0, 1.5, 400), rng.normal(-6.0, 1.0, 400)])
    y = (rng.random(s.shape) < 1 / (1 + np.exp(-(s + 2)))).astype(int)
    assert y[:, 0].sum() > 8 * y[:, 1].sum() > 0
    stored = PlattCalibrator.identity(2)
    new = stored.refit(s, y, strength=30.0, slope_strength=SLOPE_STRENGTH)
    moved = new.b - stored.b
    assert 1.0 < moved[0] < 2.2
    assert 0 < moved[1] < 0.6 * moved[0]
    assert np.allclose(new.a, 1, atol=0.02)  # the slope is held
    # a very strong prior keeps the stored calibration
    assert np.allclose(stored.refit(s, y, strength=1e6).b, 0, atol=0.05)


def test_recalibration_lifts_an_underscored_key(model: CXModel, ood: list[dict]) -> None:
    # A copy of the default model under-scores friendliness+ by 4 in log-odds: it misses about half
    # of the positives the unbroken model finds (the rest score far above the threshold; 3 was enough
    # before session 17's retraining, whose friendliness+ scores sit further from the threshold).
    # Recalibrating on the same comments brings their probabilities and the key's recall on the
    # sample back up, to about the unbroken model's.
    j = model.index["friendliness+"]
    broken = copy.copy(model)
    broken.calibrator = PlattCalibrator(model.calibrator.a.copy(), model.calibrator.b.copy())
    broken.calibrator.b[j] -= 4.0
    texts = [r["text"] for r in ood]
    y = label_matrix(ood, model.keys)
    pooled, _, _ = model.pooled_scores(texts)
    rec = recalibrate(broken.calibrator, broken.thresholds, pooled, y)
    pos = y[:, j] > 0
    p_before = broken.calibrator.transform(pooled)[:, j]
    p_after = rec.calibrator.transform(pooled)[:, j]
    assert np.median(p_after[pos]) > 3 * np.median(p_before[pos])
    recall_before = np.mean(p_before[pos] >= broken.thresholds[j])
    recall_after = np.mean(p_after[pos] >= rec.thresholds[j])
    recall_unbroken = np.mean(model.calibrator.transform(pooled)[pos, j] >= model.thresholds[j])
    assert recall_before <= 0.6 * recall_unbroken
    assert recall_after >= recall_unbroken - 1 / pos.sum()  # at most one positive short of the unbroken model
    # most of the -4 shift is undone (the prior toward the stored calibration keeps a little of it)
    assert 2.7 < rec.calibrator.b[j] - broken.calibrator.b[j] < 5.0  # two thirds of it, as with 2 of 3 before
    # the mean probability of the key now matches its rate in the sample (it was far below)
    assert abs(p_after.mean() - pos.mean()) < 0.35 * pos.mean() < abs(p_before.mean() - pos.mean())


def test_keys_without_positives_keep_their_calibration_and_threshold(model: CXModel, ood: list[dict]) -> None:
    sample = [r for r in ood if "runaround" not in r["labels"] and "passion+" not in r["labels"]][:80]
    with pytest.warns(CalibrationWarning, match=r"passion\+.*runaround|runaround.*passion\+"):
        new = cxnlp.calibrate(model, sample, source="sample.jsonl")
    for key in ("passion+", "runaround"):
        j = model.index[key]
        assert new.calibrator.a[j] == model.calibrator.a[j] and new.calibrator.b[j] == model.calibrator.b[j]
        assert new.thresholds[j] == model.thresholds[j]
    assert set(new.meta["calibrated"]["method"]["kept_keys"]) == {"passion+", "runaround"}
    assert new.meta["calibrated"]["data"]["positives"]["runaround"] == 0
    assert new.scorer is model.scorer  # no retraining
    assert "calibrated" not in model.meta  # the input model is not changed


def test_new_directory_loads_and_the_base_is_untouched(model: CXModel, ood: list[dict], tmp_path: Path) -> None:
    before = _digest(DEFAULT)
    out = tmp_path / "cx-mine"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        new = cxnlp.calibrate(DEFAULT, ood[:120], source="ood_dev.jsonl", out=out)
    assert _digest(DEFAULT) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary directory left behind

    cfg = json.loads((out / "config.json").read_text())
    base_cfg = json.loads((DEFAULT / "config.json").read_text())
    assert cfg["sha256"] == base_cfg["sha256"]  # the same weights, byte for byte
    info = cfg["calibrated"]
    assert info["data"]["source"] == "ood_dev.jsonl" and info["data"]["comments"] == 120
    assert len(info["data"]["sha256"]) == 64
    assert info["base_model"]["path"] == str(DEFAULT)
    assert info["base_model"]["config_sha256"] == hashlib.sha256((DEFAULT / "config.json").read_bytes()).hexdigest()
    assert info["base_model"]["thresholds"] == base_cfg["thresholds"]
    assert cfg["name"] == "cx-mine"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["calibration_sample"]["in_sample"] is True
    assert metrics["calibration_sample"]["n_comments"] == 120
    card = (out / "README.md").read_text()
    assert "recalibrated" in card and "IN-SAMPLE" in card and "ood_dev.jsonl" in card

    loaded = CXModel.load(out)
    texts = [r["text"] for r in ood[150:160]]
    assert np.allclose(loaded.predict_proba(texts), new.predict_proba(texts))
    assert np.allclose(loaded.thresholds, new.thresholds)
    assert Tagger.load(out).tag(texts[0]).status == "ok"

    with pytest.raises(ModelDirError, match="already exists"):
        cxnlp.calibrate(model, ood[:120], out=out)
    with pytest.raises(ModelDirError, match="model being calibrated"):
        cxnlp.calibrate(out, ood[:120], out=out, overwrite=True)


def test_unusable_samples_are_refused(model: CXModel, ood: list[dict]) -> None:
    unlabeled = [{"text": r["text"], "labels": []} for r in ood[:30]]
    with pytest.raises(DataError, match="none of the 30 comments has a label"):
        cxnlp.calibrate(model, unlabeled, source="mine.csv")
    with pytest.raises(DataError, match="need at least 10"):
        cxnlp.calibrate(model, ood[:5])
    bad = [dict(r) for r in ood[:20]]
    bad[3]["labels"] = ["friendliness+", "rudeness"]
    with pytest.raises(DataError, match=r"mine.csv: row 4: column 'labels': unknown label 'rudeness'"):
        cxnlp.calibrate(model, bad, source="mine.csv")


def _write_csv(path: Path, rows: list[dict], labels: bool = True) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["comment", "labels"])
        for r in rows:
            w.writerow([r["text"], ";".join(r["labels"]) if labels else ""])


def test_cli_end_to_end_and_errors(ood: list[dict], tmp_path: Path) -> None:
    data = tmp_path / "my_labeled.csv"
    _write_csv(data, [r for r in ood[:60] if "runaround" not in r["labels"]])
    out = tmp_path / "models" / "cx-mine"
    args = ["calibrate", str(DEFAULT), "--data", str(data), "--out", str(out), "--text-column", "comment"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "in-sample" in result.output and "model written to" in result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "runaround" in warning[0] and "keep the base model's calibration" in warning[0]
    assert CXModel.load(out).meta["calibrated"]["data"]["source"] == "my_labeled.csv"

    def one_line_error(argv: list[str]) -> str:
        res = runner.invoke(app, argv)
        assert res.exit_code == 1, res.output
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1, res.output
        return lines[0]

    assert "already exists" in one_line_error(args)
    no_text = one_line_error(args[:-1] + ["text", "--overwrite"])  # the CSV has no 'text' column
    assert "my_labeled.csv: row 1: column 'text' not found" in no_text
    # without --text-column the comment column is found by name, as cxnlp tag finds it
    found = runner.invoke(app, args[:-2] + ["--overwrite"])
    assert found.exit_code == 0, found.output
    bad = tmp_path / "bad.csv"
    rows = [dict(r) for r in ood[:20]]
    rows[2] = {**rows[2], "labels": ["friendliness+", "rudeness"]}
    _write_csv(bad, rows)
    msg = one_line_error(["calibrate", str(DEFAULT), "--data", str(bad), "--out", str(tmp_path / "x"), *args[-2:]])
    assert "bad.csv: row 4: column 'labels': unknown label 'rudeness'" in msg  # the third comment; header is row 1
    empty = tmp_path / "unlabeled.csv"
    _write_csv(empty, ood[:20], labels=False)
    msg = one_line_error(["calibrate", str(DEFAULT), "--data", str(empty), "--out", str(tmp_path / "y"), *args[-2:]])
    assert "none of the 20 comments has a label" in msg
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
