"""Calibrate and tune thresholds on real dev plus held-out synthetic comments from other domains?

    python scripts/experiments/mixed_calibration.py --holdout 0.25

The default recipe fits Platt scaling and per-key thresholds on the real dev split only (hotel and
CFPB text), so a key's threshold is set where hotel phrasing puts it.  Here a seeded share of
``train_synthetic.jsonl`` (whole writer batches are not kept apart: comments are drawn by a hash of
their id) is held out of training and added to the calibration set.  Both rows are trained and
scored here with the same code; ``ood_dev`` is never used for fitting.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from cxnlp.data import load_records
from cxnlp.evaluation import evaluate_records
from cxnlp.models.model import CXModel
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segmenter
from cxnlp.training import TrainConfig, build_scorer, finish, train_records, training_examples


def held_out(record: dict, share: float) -> bool:
    h = int(hashlib.sha256(record["id"].encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < share


def run(splits: dict, config: TrainConfig, tax: Taxonomy, calibration: list[dict]) -> CXModel:
    seg = Segmenter(max_chars=config.max_segment_chars)
    texts, y, mask, weight = training_examples(config, tax, train_records(config, splits), seg)
    scorer = build_scorer(config, tax.keys)
    scorer.fit(texts, y, mask, weight)
    model, _, _ = finish(CXModel(scorer, tax, seg, pooling=config.pooling), config, {**splits, "dev": calibration})
    return model


def compare_writers(splits: dict, config: TrainConfig, tax: Taxonomy) -> None:
    """Writers syn8-syn13 (session 4) in training, in calibration, or half and half."""
    later = {f"syn{i}" for i in range(8, 14)}
    first = [r for r in splits["train_synthetic"] if r["annotator"] not in later]
    second = [r for r in splits["train_synthetic"] if r["annotator"] in later]
    half = [r for r in second if held_out(r, 0.5)]
    rest = [r for r in second if not held_out(r, 0.5)]
    rows = {
        f"train gold + {len(first) + len(second)} synthetic, calibrate dev": (first + second, splits["dev"]),
        f"train gold + {len(first)} synthetic, calibrate dev + {len(second)} synthetic": (
            first,
            splits["dev"] + second,
        ),
        f"train gold + {len(first) + len(rest)} synthetic, calibrate dev + {len(half)} synthetic": (
            first + rest,
            splits["dev"] + half,
        ),
    }
    for name, (synthetic, calibration) in rows.items():
        t0 = time.time()
        model = run({**splits, "train_synthetic": synthetic}, config, tax, calibration)
        scores = []
        for split in ("dev", "ood_dev"):
            m = evaluate_records(model, splits[split])
            scores.append(f"{split} {m['micro']['f1']:.3f} / {m['macro_f1']:.3f}")
        print(f"{name}: " + "  ".join(scores) + f"  ({time.time() - t0:.0f}s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--holdout", type=float, default=0.25)
    ap.add_argument("--writers", action="store_true", help="compare ways to use the second round of synthetic writers")
    args = ap.parse_args()
    config = TrainConfig()
    tax = Taxonomy.default()
    splits = load_records(None, tax)
    synth = splits["train_synthetic"]
    if args.writers:
        compare_writers(splits, config, tax)
        return
    kept = [r for r in synth if not held_out(r, args.holdout)]
    cal = [r for r in synth if held_out(r, args.holdout)]
    rows = {
        "synthetic all in train, calibrated on dev": (splits, splits["dev"]),
        f"{len(cal)} synthetic held out, calibrated on dev only": ({**splits, "train_synthetic": kept}, splits["dev"]),
        f"{len(cal)} synthetic held out, calibrated on dev + them": (
            {**splits, "train_synthetic": kept},
            splits["dev"] + cal,
        ),
    }
    for name, (sp, calibration) in rows.items():
        t0 = time.time()
        model = run(sp, config, tax, calibration)
        scores = []
        for split in ("dev", "ood_dev"):
            m = evaluate_records(model, splits[split])
            scores.append(f"{split} {m['micro']['f1']:.3f} / {m['macro_f1']:.3f}")
        print(f"{name}: " + "  ".join(scores) + f"  ({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
