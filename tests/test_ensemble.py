"""Ensembles: a fast model and an encoder combined, saved, loaded and recalibrated, on real annotated comments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cxnlp.calibration import calibrate
from cxnlp.cli import app
from cxnlp.data import load_records
from cxnlp.models.base import ModelDirError
from cxnlp.models.ensemble import EnsembleModel
from cxnlp.models.model import NO_TEXT, CXModel
from cxnlp.training import TrainConfig, fit_ensemble, train

TEXTS = [
    "The receptionist was rude and ignored us at check in. The room was fine.",
    "Staff were very friendly and helpful",
    "I was transferred five times and nobody could help me",
    "",
]


@pytest.fixture(scope="module")
def members(small_data, tiny_bert, tmp_path_factory) -> list[Path]:
    """A fast model and a tiny-BERT encoder trained on the same data (so calibrated on the same dev split)."""
    common = {"data": str(small_data), "seed": 1, "backbone": str(tiny_bert)}
    configs = [
        TrainConfig(family="fast", max_features=20_000, static_dim=16, hidden=0, **common),
        TrainConfig(family="encoder", epochs=1, batch_size=32, max_length=32, device="cpu", **common),
    ]
    root = tmp_path_factory.mktemp("members")
    paths = []
    for cfg in configs:
        model, metrics, _ = train(cfg, log=lambda m: None)
        model.meta["name"] = cfg.family
        paths.append(model.save(root / cfg.family, metrics=metrics))
    return paths


@pytest.fixture(scope="module")
def ensemble_dir(members, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ens") / "cx-accurate"
    result = CliRunner().invoke(app, ["ensemble", *map(str, members), "--out", str(out), "--weights", "1,3"])
    assert result.exit_code == 0, result.output
    return out


def test_ensemble_score_is_the_weighted_sum_of_member_log_odds(members) -> None:
    fast, enc = (CXModel.load(p) for p in members)
    ens = EnsembleModel([fast, enc], [1, 3])
    z_fast = fast.calibrator.logits(fast.pooled_scores(TEXTS)[0])
    z_enc = enc.calibrator.logits(enc.pooled_scores(TEXTS)[0])
    pooled, argmax, segs = ens.pooled_scores(TEXTS)
    np.testing.assert_allclose(pooled[:3], (0.25 * z_fast + 0.75 * z_enc)[:3], atol=1e-9)
    assert (pooled[3] == NO_TEXT).all()  # an empty comment: nothing to score, the single-model sentinel
    # evidence: the best segment of whichever member is the more confident
    fast_arg, enc_arg = fast.pooled_scores(TEXTS)[1], enc.pooled_scores(TEXTS)[1]
    np.testing.assert_array_equal(argmax, np.where(z_enc > z_fast, enc_arg, fast_arg))
    assert [len(s) for s in segs] == [2, 1, 1, 0]


def test_ensemble_directory_round_trip(ensemble_dir, members) -> None:
    cfg = json.loads((ensemble_dir / "config.json").read_text())
    assert cfg["family"] == "ensemble" and [m["weight"] for m in cfg["members"]] == [0.25, 0.75]
    assert [m["family"] for m in cfg["members"]] == ["fast", "encoder"]
    assert all((ensemble_dir / f).exists() for f in cfg["files"]) and len(cfg["thresholds"]) == 27
    assert (ensemble_dir / "members/1-encoder/model.safetensors").exists()
    assert "## Members" in (ensemble_dir / "README.md").read_text()
    metrics = json.loads((ensemble_dir / "metrics.json").read_text())
    loaded = CXModel.load(ensemble_dir)
    assert isinstance(loaded, EnsembleModel) and loaded.family == "ensemble"
    # the stored calibration is the ensemble's own, fitted on the dev split, not a member's
    fresh, dev_metrics = fit_ensemble([CXModel.load(p) for p in members], [1, 3], log=lambda m: None)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fresh.predict_proba(TEXTS), atol=1e-6)
    assert metrics["dev"]["micro"] == dev_metrics["dev"]["micro"]
    preds = loaded.analyse(TEXTS)
    assert preds[3].keys == []
    for text, pred in zip(TEXTS, preds, strict=True):
        for start, end in pred.evidence.values():
            assert 0 <= start < end <= len(text)


def test_members_calibrated_on_other_data_are_refused(members) -> None:
    fast, enc = (CXModel.load(p) for p in members)
    enc.meta["train_config"]["synthetic_calibration"] = 0.5
    with pytest.raises(ValueError, match="calibrated on different data"):
        fit_ensemble([fast, enc])
    with pytest.raises(ValueError, match="at least two members"):
        EnsembleModel([fast])


def test_a_member_saved_before_a_setting_existed_counts_as_its_default(members) -> None:
    # Session 12's models have no add_data / text_column / labels_column in their saved settings; they were
    # calibrated on what those settings' defaults give and must still combine with today's models.
    fast, enc = (CXModel.load(p) for p in members)
    for name in ("add_data", "text_column", "labels_column"):
        enc.meta["train_config"].pop(name)
    model, metrics = fit_ensemble([fast, enc], log=lambda m: None)
    assert metrics["dev"]["n_comments"] == len(load_records(fast.meta["train_config"]["data"])["dev"])


def test_a_pickle_inside_a_member_is_refused(ensemble_dir, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(ensemble_dir, bad)
    (bad / "members/0-fast/extra.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(ModelDirError, match="extra.pkl"):
        CXModel.load(bad)


def test_an_ensemble_can_be_recalibrated_to_a_domain(ensemble_dir, small_data, tmp_path: Path) -> None:
    records = load_records(small_data)["test"][:60]
    new = calibrate(ensemble_dir, records, source="sample", out=tmp_path / "mine")
    again = CXModel.load(tmp_path / "mine")
    assert isinstance(again, EnsembleModel) and again.meta["calibrated"]["data"]["comments"] == 60
    np.testing.assert_allclose(again.predict_proba(TEXTS), new.predict_proba(TEXTS), atol=1e-6)
