"""Two models combined: a weighted mean of their calibrated log-odds, recalibrated and thresholded anew.

The weight study behind ``cxnlp ensemble`` (which builds such a model directory with fixed weights).

    python scripts/experiments/ensemble.py MODEL_A MODEL_B [--weights 0,0.3,0.5,0.7,1]

Both models must have been calibrated on the same data (dev + the held-out synthetic share, as
``cxnlp train`` does with the default settings), which this script refits on: per key, Platt
scaling of ``(1 - w) * z_A + w * z_B`` and an F1-optimal threshold.  Scores dev (in-sample for the
calibration, as every model's stored dev figures are), ``ood_dev`` and ``ood_wide_dev`` (never
fitted on); never the test splits.
"""

from __future__ import annotations

import argparse

from cxnlp.calibration import PlattCalibrator, tune_thresholds
from cxnlp.data import label_matrix, load_records, read_jsonl
from cxnlp.evaluation import micro_macro_f1
from cxnlp.models.ensemble import EnsembleModel
from cxnlp.models.model import CXModel
from cxnlp.training import TrainConfig, calibration_records


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("--weights", default="0,0.3,0.5,0.7,1", help="weights of model B to try")
    args = ap.parse_args()
    a, b = CXModel.load(args.model_a), CXModel.load(args.model_b)
    splits = load_records(None)
    cal = calibration_records(TrainConfig(), splits)
    sets = {
        "cal": cal,
        "ood_dev": read_jsonl("data/annotated/ood_dev.jsonl"),
        "ood_wide_dev": read_jsonl("data/annotated/ood_wide_dev.jsonl"),
    }

    pair = EnsembleModel([a, b])  # its member_logits: what `cxnlp ensemble` combines
    z = {name: tuple(pair.member_logits([r["text"] for r in recs])[0]) for name, recs in sets.items()}
    y = {name: label_matrix(recs, a.keys) for name, recs in sets.items()}
    n_dev = len(splits["dev"])  # calibration_records puts dev first
    print(f"| weight of {args.model_b} | dev micro / macro | ood_dev micro / macro | ood_wide_dev micro / macro |")
    print("|---:|---:|---:|---:|")
    for w in (float(x) for x in args.weights.split(",")):
        s = {name: (1 - w) * za + w * zb for name, (za, zb) in z.items()}
        calibrator = PlattCalibrator.fit(s["cal"], y["cal"])
        thresholds = tune_thresholds(calibrator.transform(s["cal"]), y["cal"])
        pred = {name: calibrator.transform(v) >= thresholds for name, v in s.items()}
        cells = [micro_macro_f1(y["cal"][:n_dev], pred["cal"][:n_dev])]
        cells += [micro_macro_f1(y[name], pred[name]) for name in ("ood_dev", "ood_wide_dev")]
        print(f"| {w:g} | " + " | ".join(f"{mi:.3f} / {ma:.3f}" for mi, ma in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
