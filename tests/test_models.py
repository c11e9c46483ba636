"""End to end: train -> save -> load -> predict, for both families, on real annotated comments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cxnlp.data import load_records, write_jsonl
from cxnlp.modelcard import model_card
from cxnlp.models.base import FORMAT_VERSION, ModelDirError
from cxnlp.models.model import CXModel
from cxnlp.training import TrainConfig, train


def _fast_config(small_data: Path, tiny_bert: Path) -> TrainConfig:
    # static vectors from the tiny BERT: the same code path as MiniLM's, in seconds
    return TrainConfig(
        family="fast",
        data=str(small_data),
        seed=3,
        max_features=20_000,
        backbone=str(tiny_bert),
        static_dim=16,
        hidden=64,
        mlp_epochs=2,
    )


@pytest.fixture(scope="module")
def fast_model(small_data, tiny_bert, tmp_path_factory):
    model, metrics, _ = train(_fast_config(small_data, tiny_bert), log=lambda m: None)
    path = tmp_path_factory.mktemp("m") / "fast"
    model.save(path, metrics=metrics)
    return path, model, metrics


def test_fast_round_trip_predicts_identically(fast_model) -> None:
    path, model, _ = fast_model
    texts = [
        "The receptionist was rude and ignored us at check in",
        "Staff were very friendly and helpful",
        "I was transferred five times and nobody could help me",
        "",
    ]
    loaded = CXModel.load(path)
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    assert (loaded.predict(texts) == model.predict(texts)).all()
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["family"] == "fast" and len(cfg["thresholds"]) == 27 and cfg["seed"] == 3
    assert cfg["training_data"]["sha256"] and cfg["calibration"]["method"] == "platt"
    assert cfg["scorer"]["static_dim"] == 16 and "static_vectors.safetensors" in cfg["files"]
    assert cfg["scorer"]["hidden"] == 64 and loaded.scorer.w1.shape[1] == 64
    from safetensors.numpy import load_file

    stored = load_file(str(path / "weights.safetensors"))
    assert stored["w1"].dtype == np.int8 and stored["w1_scale"].shape == (stored["w1"].shape[0],)
    np.testing.assert_array_equal(loaded.scorer.w1, model.scorer.w1)


def test_fast_model_learns_real_signal(fast_model) -> None:
    _, model, metrics = fast_model
    assert metrics["dev"]["micro"]["f1"] > 0.4
    p = model.predict_proba(["Staff were very friendly and helpful"])[0]
    assert p[model.keys.index("friendliness+")] > p[model.keys.index("friendliness-")]


def test_same_seed_same_metrics(small_data, tiny_bert, fast_model) -> None:
    _, _, first = fast_model
    _, again, _ = train(_fast_config(small_data, tiny_bert), log=lambda m: None)
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)


def test_hidden_layer_logits_add_to_the_linear_models(fast_model) -> None:
    """Tagging computes the hidden layer with scipy, as extra columns of the linear product."""
    _, model, _ = fast_model
    sc = model.scorer
    texts = [r["text"] for r in load_records()["dev"][:60]]
    items = [s.text for t in texts for s in model.segmenter.split(t)]
    F = sc.features(items)
    linear = np.asarray(F @ sc.coef) + sc.intercept
    hidden = np.maximum(np.asarray(sc._hidden_columns(F) @ sc.w1) + sc.b1, 0) @ sc.w2 + sc.b2
    assert np.abs(hidden).mean() > 0.05
    got = sc.decision_function(items)
    np.testing.assert_allclose(got, linear + hidden, atol=5e-4)
    np.testing.assert_array_equal(sc.decision_function(items[3:4]), got[3:4])


def test_implications_are_applied(fast_model) -> None:
    _, model, _ = fast_model
    model.thresholds = np.ones(len(model.keys))  # nothing passes on its own ...
    model.thresholds[model.keys.index("coldness")] = 0.0  # ... but coldness always does
    (pred,) = model.analyse(["The clerk snapped at us"])
    assert "coldness" in pred.keys and "friendliness-" in pred.keys
    assert pred.evidence["friendliness-"] == pred.evidence["coldness"]


def test_weights_are_as_readable_as_the_config(fast_model) -> None:
    path, _, _ = fast_model
    modes = {f.name: f.stat().st_mode & 0o777 for f in Path(path).rglob("*") if f.is_file()}
    assert set(modes.values()) == {modes["config.json"]}, modes


def test_refuses_pickle_version_mismatch_and_missing_files(fast_model, tmp_path: Path) -> None:
    path, _, _ = fast_model
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    (bad / "extra.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelDirError, match=r"extra\.pkl: refusing to load"):
        CXModel.load(bad)
    (bad / "extra.pkl").unlink()
    cfg = json.loads((bad / "config.json").read_text())
    cfg["format_version"] = 99
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelDirError, match="model format 99") as exc:
        CXModel.load(bad)
    assert "\n" not in str(exc.value)
    cfg["format_version"] = FORMAT_VERSION
    (bad / "config.json").write_text(json.dumps(cfg))
    (bad / "vocab.json").unlink()
    with pytest.raises(ModelDirError, match=r"vocab\.json: missing"):
        CXModel.load(bad)
    with pytest.raises(ModelDirError, match="not found"):
        CXModel.load(tmp_path / "nowhere")


def test_damaged_or_edited_model_directories_are_one_line_errors(fast_model, tmp_path: Path) -> None:
    path, _, _ = fast_model
    weights = next(f for f in json.loads((path / "config.json").read_text())["files"] if f.endswith(".safetensors"))

    def damaged(edit) -> str:
        bad = tmp_path / f"bad{len(list(tmp_path.iterdir()))}"
        shutil.copytree(path, bad)
        edit(bad)
        with pytest.raises(ModelDirError) as exc:
            CXModel.load(bad)
        assert "\n" not in str(exc.value)
        return str(exc.value)

    def flip_byte(d: Path) -> None:
        raw = bytearray((d / weights).read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (d / weights).write_bytes(bytes(raw))

    def edit_config(change):
        def edit(d: Path) -> None:
            cfg = json.loads((d / "config.json").read_text())
            change(cfg)
            (d / "config.json").write_text(json.dumps(cfg))

        return edit

    assert "sha256 differs" in damaged(flip_byte)
    truncate = lambda d: (d / weights).write_bytes((d / weights).read_bytes()[:100])  # noqa: E731
    assert "sha256 differs" in damaged(truncate)
    assert "'coldness' is missing" in damaged(edit_config(lambda c: c["thresholds"].pop("coldness")))
    assert "malformed" in damaged(edit_config(lambda c: c.update(calibration="oops")))


def test_user_file_is_split_for_training(tmp_path: Path) -> None:
    recs = load_records()["train"][::11]
    # an export that repeats comments (survey tools do): each text must land on one side only
    rows = [{"id": r["id"], "text": r["text"], "labels": r["labels"]} for r in recs]
    rows += [{**r, "id": f"{r['id']}-copy", "text": r["text"].upper()} for r in rows[::3]]
    f = tmp_path / "mine.jsonl"
    write_jsonl(f, rows)
    model, metrics, splits = train(TrainConfig(data=str(f), max_features=5000, static_dim=0), log=lambda m: None)
    assert set(splits) == {"train", "dev"} and len(splits["train"]) + len(splits["dev"]) == len(rows)
    assert metrics["dev"]["n_comments"] == len(splits["dev"])
    seen = {s: {" ".join(r["text"].lower().split()) for r in splits[s]} for s in splits}
    assert not seen["train"] & seen["dev"]
    card = model_card(model, metrics)
    assert "Platt scaling on dev;" in card and "held-out" not in card and "Trained and tuned on" in card
    in_dev = {k for r in splits["dev"] for k in r["labels"]}
    missing = model.meta["training_data"]["calibration_without_positives"]
    assert missing and set(missing) == set(model.keys) - in_dev and f"`{missing[0]}`" in card


def test_synthetic_comments_split_between_training_and_calibration() -> None:
    from cxnlp.training import calibration_records, train_records

    splits = load_records()
    synthetic = {r["id"] for r in splits["train_synthetic"]}
    trained = {r["id"] for r in train_records(TrainConfig(), splits)} & synthetic
    calibrated = {r["id"] for r in calibration_records(TrainConfig(), splits)} & synthetic
    assert not trained & calibrated and trained | calibrated == synthetic
    assert 0.15 < len(calibrated) / len(synthetic) < 0.25  # synthetic_calibration = 0.2, drawn by id hash
    assert {r["id"] for r in splits["dev"]} <= {r["id"] for r in calibration_records(TrainConfig(), splits)}
    off = TrainConfig(synthetic_calibration=0.0)
    assert calibration_records(off, splits) == splits["dev"] and len(train_records(off, splits)) == len(
        splits["train"]
    ) + len(synthetic)


def test_config_from_file_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "train.toml"
    p.write_text('[train]\nfamily = "fast"\nC = 2.5\nchar_ngrams = [3, 4]\n')
    cfg = TrainConfig.from_file(p).with_overrides(["seed=7", "char_ngrams=none", "min_df=3"])
    assert (cfg.C, cfg.seed, cfg.char_ngrams, cfg.min_df) == (2.5, 7, None, 3)
    with pytest.raises(ValueError, match="unknown training setting 'colour'"):
        cfg.with_overrides(["colour=red"])
    # values that would have been misread or crashed later: refused with the setting's name
    for pair, msg in [
        ("synthetic=flase", "synthetic: cannot read 'flase' as bool"),
        ("word_ngrams=1", "word_ngrams: expected a range of two numbers"),
        ("seed=1.5", "seed: cannot read '1.5' as int"),
    ]:
        with pytest.raises(ValueError, match=msg):
            cfg.with_overrides([pair])
    assert cfg.with_overrides(["synthetic=off"]).synthetic is False
    p.write_text("C = 2\n[train]\nseed = 1\n")
    with pytest.raises(ValueError, match="outside the \\[train\\] table: C"):
        TrainConfig.from_file(p)
    p.write_text("[train]\nmlp_epochs = 2.5\n")
    with pytest.raises(ValueError, match="mlp_epochs: cannot read 2.5 as int"):
        TrainConfig.from_file(p)


def _subset(data: Path, out: Path, n_train: int, n_dev: int, n_test: int) -> Path:
    """The first comments of each split of ``data``, as a dataset directory: an encoder trains on it in seconds."""
    recs = load_records(data)
    for split, n in (("train", n_train), ("dev", n_dev), ("test", n_test)):
        write_jsonl(out / f"{split}.jsonl", recs[split][:n])
    return out


def test_encoder_family_end_to_end_with_tiny_random_bert(small_data, tiny_bert, tmp_path: Path) -> None:
    d = _subset(small_data, tmp_path / "d", 60, 30, 10)
    cfg = TrainConfig(
        family="encoder", data=str(d), backbone=str(tiny_bert), epochs=1, batch_size=16, max_length=48, device="cpu"
    )
    model, metrics, _ = train(cfg, log=lambda m: None)
    out = tmp_path / "enc"
    model.save(out, metrics=metrics)
    assert not list(out.rglob("*.bin")) and (out / "model.safetensors").exists()
    loaded = CXModel.load(out)
    texts = ["The agent hung up on me.", "Lovely staff."]
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-5)


def test_encoder_freezes_lower_layers_and_weights_rare_positives(small_data, tiny_bert, tmp_path: Path) -> None:
    import torch

    from cxnlp.models.base import positive_weights
    from cxnlp.models.encoder import EncoderScorer

    d = _subset(small_data, tmp_path / "d", 40, 20, 5)
    cfg = TrainConfig(
        family="encoder",
        data=str(d),
        backbone=str(tiny_bert),
        epochs=1,
        batch_size=16,
        max_length=48,
        device="cpu",
        freeze_layers=1,
        pos_weight_power=0.5,
        head_learning_rate=1e-2,
    )
    from transformers import AutoModel

    before = AutoModel.from_pretrained(tiny_bert).float().state_dict()  # what fine-tuning starts from
    model, _, _ = train(cfg, log=lambda m: None)
    after = model.scorer.net.body.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved, "nothing was trained"
    assert not any(k.startswith(("embeddings.", "encoder.layer.0.")) for k in moved)
    assert any(k.startswith("encoder.layer.1.") for k in moved)
    # 3 positives and 9 negatives known for key 0 (the masked cell does not count); none for key 1
    y = np.zeros((13, 2), np.float32)
    y[:3, 0] = 1
    mask = np.ones((13, 2), np.int8)
    mask[12, 0] = 0
    w = positive_weights(y, mask, np.ones(13), 0.5)
    assert np.allclose(w, [3**0.5, 1.0])
    assert np.allclose(positive_weights(y, mask, np.ones(13), 0.0), 1.0)
    assert positive_weights(y, mask, np.ones(13), 4.0, cap=50.0)[0] == 50.0
    with pytest.raises(ValueError, match="freeze_layers=5, but the backbone has 2 layers"):
        EncoderScorer(["a"], backbone=str(tiny_bert), freeze_layers=5, device="cpu").fit(
            ["x"], np.zeros((1, 1), np.float32), np.ones((1, 1), np.int8)
        )


def test_encoder_stores_only_what_fine_tuning_changed_over_a_verified_backbone(
    small_data, tiny_bert, tmp_path: Path, monkeypatch
) -> None:
    import sys

    import torch
    from safetensors.torch import load_file, save_file

    from cxnlp.models import encoder

    d = _subset(small_data, tmp_path / "d", 40, 20, 5)
    backbone = shutil.copytree(tiny_bert, tmp_path / "backbone")
    real = encoder.resolve_backbone

    def as_package(name: str):  # the tiny BERT, as if pip had installed it (only a package is left out)
        if name != "tiny-bert":
            return real(name)
        digest = encoder.sha256_file(backbone / "model.safetensors")
        return backbone, {"name": name, "package": "tiny-bert==1.0", "sha256": digest}

    monkeypatch.setattr(encoder, "resolve_backbone", as_package)
    cfg = TrainConfig(
        family="encoder", data=str(d), backbone="tiny-bert", epochs=1, batch_size=16, max_length=48,
        device="cpu", freeze_layers=1,
    )  # fmt: skip
    model, metrics, _ = train(cfg, log=lambda m: None)
    out = model.save(tmp_path / "enc", metrics=metrics)
    stored = load_file(str(out / "model.safetensors"))
    # the frozen embeddings and layer 0 come from the backbone; layer 1 and the head are stored, in float16
    assert not any(k.startswith(("body.embeddings.", "body.encoder.layer.0.")) for k in stored)
    assert any(k.startswith("body.encoder.layer.1.") for k in stored) and "head.weight" in stored
    assert {v.dtype for v in stored.values()} == {torch.float16}
    saved = json.loads((out / "config.json").read_text())["scorer"]
    assert (saved["weights"], saved["weights_dtype"]) == ("changed", "float16")
    # the model was rounded to float16 before calibration, so the saved one scores exactly as the trained one
    texts = ["The agent hung up on me twice.", "Lovely staff, so helpful.", "The room was cold."]
    loaded = CXModel.load(out)
    assert np.array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    # saved again (as an ensemble copies its members), the directory is the same, training settings included
    again = loaded.save(tmp_path / "again", metrics=metrics)
    assert json.loads((again / "config.json").read_text()) == json.loads((out / "config.json").read_text())
    assert (again / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()
    assert json.loads((out / "metrics.json").read_text())["dev"] == metrics["dev"]
    card = model_card(model, metrics)  # says what else loading needs
    assert f"that backbone, sha256 `{saved['backbone']['sha256'][:16]}" in card and "cxnlp[encoder]" in card
    # a backbone that is not the one it was fine-tuned from is refused, naming both digests
    layer = backbone / "model.safetensors"
    weights = load_file(str(layer))
    weights["embeddings.word_embeddings.weight"][0, 0] += 1.0
    save_file(weights, str(layer))
    refused = "stores only fine-tuned weights over its backbone; .*backbone has sha256 .*, not the recorded"
    with pytest.raises(ModelDirError, match=refused):
        CXModel.load(out)
    # without torch and transformers, loading says what to install, in one line
    with monkeypatch.context() as mp:
        mp.setitem(sys.modules, "transformers", None)
        with pytest.raises(ModelDirError, match=r"an encoder model needs torch and transformers .*cxnlp\[encoder\]"):
            CXModel.load(out)
    # a backbone that is not a package (a local directory, a Hub id) may be missing elsewhere: stored whole
    local = {"name": str(tiny_bert), "sha256": encoder.sha256_file(tiny_bert / "model.safetensors")}
    model.scorer.backbone_info = local
    whole = model.save(tmp_path / "whole")
    assert json.loads((whole / "config.json").read_text())["scorer"]["weights"] == "full"
    assert any(k.startswith("body.embeddings.") for k in load_file(str(whole / "model.safetensors")))
    assert np.array_equal(CXModel.load(whole).predict_proba(texts), model.predict_proba(texts))
    assert "stores only" not in model_card(model, metrics)


def test_encoder_batches_cover_every_example_once_with_similar_lengths() -> None:
    from cxnlp.models.encoder import length_buckets

    texts = [r["text"] for r in load_records(None)["dev"]]
    lengths = np.array([len(t) for t in texts])
    batches = length_buckets(lengths, 16, np.random.default_rng(0), pool=8)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(texts)))
    # within a batch lengths are close; a random batch spans most of the range
    spread = np.median([np.ptp(lengths[b]) for b in batches if len(b) > 1])
    random_spread = np.median([np.ptp(lengths[b]) for b in np.array_split(np.arange(len(texts)), len(batches))])
    assert spread < random_spread / 3
    # a new epoch (the generator moved on) mixes differently
    again = length_buckets(lengths, 16, np.random.default_rng(1), pool=8)
    assert [b.tolist() for b in again] != [b.tolist() for b in batches]


def test_weights_without_the_hidden_layer_are_refused(fast_model, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    path, _, _ = fast_model
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    weights = load_file(str(bad / "weights.safetensors"))
    del weights["w1"]
    save_file(weights, str(bad / "weights.safetensors"))
    with pytest.raises(ModelDirError, match="sha256 differs"):
        CXModel.load(bad)
    # the same file with a config that vouches for it: refused by its structure
    from cxnlp.models.base import sha256_file

    cfg = json.loads((bad / "config.json").read_text())
    cfg["sha256"]["weights.safetensors"] = sha256_file(bad / "weights.safetensors")
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"weights\.safetensors: hidden layer w1 missing, expected"):
        CXModel.load(bad)


def test_int8_hidden_weights_keep_each_features_scale() -> None:
    """Per-feature scales: a rare feature's small weights are not rounded to zero by a frequent one's."""
    from cxnlp.models.fast import _dequantise, _quantise

    rng = np.random.default_rng(0)
    w = rng.normal(size=(50, 16)).astype(np.float32) * np.logspace(-4, 0, 50, dtype=np.float32)[:, None]
    w[7] = 0.0
    q, scale = _quantise(w)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    back = _dequantise(q, scale)
    err = np.abs(back - w).max(axis=1)
    assert (err <= np.abs(w).max(axis=1) / 254 + 1e-12).all()
    assert (back[0] != 0).sum() >= 14 and (back[7] == 0).all()


def test_positive_weighting_raises_a_rare_keys_scores() -> None:
    from cxnlp.models.fast import FastScorer

    recs = load_records()["train"][:600]
    texts = [r["text"] for r in recs]
    y = np.array([["friendliness+" in r["labels"]] for r in recs], dtype=np.float32)
    assert 0 < y.sum() < 0.2 * len(y)
    mask = np.ones_like(y, dtype=np.int8)
    plain = FastScorer(["friendliness+"], char_ngrams=None, n_jobs=1, log=lambda m: None).fit(texts, y, mask)
    weighted = FastScorer(["friendliness+"], char_ngrams=None, n_jobs=1, pos_weight_power=1.0, log=lambda m: None)
    weighted.fit(texts, y, mask)
    pos = y[:, 0] == 1
    gap = weighted.decision_function(texts)[pos, 0].mean() - plain.decision_function(texts)[pos, 0].mean()
    assert gap > 1.0


def test_hidden_members_store_the_average_of_layers_from_consecutive_seeds() -> None:
    """hidden_members=2 is one layer of `hidden` units whose logits are the mean of two narrower layers."""
    import scipy.sparse as sp

    from cxnlp.models.fast import FastScorer

    recs = load_records()["train"][:400]
    keys = ["friendliness+", "problem_solving-"]
    y = np.array([[k in r["labels"] for k in keys] for r in recs], dtype=np.float32)
    mask, weight = np.ones_like(y, dtype=np.int8), np.ones(len(recs), dtype=np.float32)
    X = sp.random(len(recs), 300, density=0.05, format="csr", random_state=0, dtype=np.float32)
    kw = dict(char_ngrams=None, hidden=32, mlp_epochs=2, seed=5, log=lambda m: None)
    sc = FastScorer(keys, hidden_members=2, **kw)
    sc._fit_hidden(X, y, mask, weight)
    assert sc.w1.shape == (300, 32) and sc.w2.shape == (32, 2)

    def logits(w1, b1, w2, b2):
        return np.maximum(np.asarray(X @ w1) + b1, 0) @ w2 + b2

    members = [sc._fit_member(X, y, mask, weight, 16, seed) for seed in (10, 11)]  # seed * n + m
    mean = sum(logits(*m) for m in members) / 2
    got = logits(sc.w1, sc.b1, sc.w2, sc.b2)
    assert np.abs(logits(*members[0]) - logits(*members[1])).mean() > 0.01  # the seeds really differ
    np.testing.assert_allclose(got, mean, atol=0.02)  # int8 rounding of w1 only
    with pytest.raises(ValueError, match="multiple of hidden_members"):
        FastScorer(keys, hidden=30, hidden_members=4)
    with pytest.raises(ValueError, match="at least 1"):
        FastScorer(keys, hidden=32, hidden_members=0)
    # the training config reaches the scorer
    from cxnlp.training import build_scorer

    built = build_scorer(TrainConfig(hidden=64, hidden_members=4), keys, log=lambda m: None)
    assert (built.hidden, built.hidden_members) == (64, 4)


def test_package_backbone_is_hashed_once_per_file_state(tmp_path, monkeypatch):
    # The 91 MB package file is verified on every resolve; its digest is reused until the file changes.
    from cxnlp.models import encoder

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"first version of the weights")
    calls = []

    def counting(path):
        calls.append(path)
        return real(path)

    real = encoder.sha256_file
    monkeypatch.setattr(encoder, "sha256_file", counting)
    first = encoder._package_digest(weights)
    assert encoder._package_digest(weights) == first and len(calls) == 1
    weights.write_bytes(b"a replaced, longer file of weights")
    second = encoder._package_digest(weights)
    assert second != first and len(calls) == 2
    assert second == real(weights)
