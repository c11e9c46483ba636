"""Refit a trained model's calibration and thresholds on its data's current dev labels, keeping its weights.

    python scripts/recalibrate.py models/cx-encoder [--out DIR]

When dev's labels change but train's do not (round 5 re-read dev and test), retraining with the model's
recorded command would fit the same weights: the scorer is fitted on train alone, with the recorded seed,
and dev is used only afterwards, for Platt scaling, thresholds and the dev metrics (``training.finish``).
This runs that last step again on the loaded model (minutes instead of the encoder's 35), so the directory
is what the documented command now produces. ``--out`` defaults to the model directory itself. The other
splits' scores are dropped from ``metrics.json``: re-run ``cxnlp evaluate`` for them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cxnlp.modelcard import model_card
from cxnlp.models.model import CXModel, write_model_dir
from cxnlp.taxonomy import Taxonomy
from cxnlp.training import TrainConfig, finish, load_training_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    model = CXModel.load(args.model)
    config = TrainConfig().updated(model.meta["train_config"], source=f"{args.model}/config.json")
    splits = load_training_data(config, Taxonomy.load(config.taxonomy), log=print)
    name = model.meta.get("name", args.model.name)
    model, metrics, _ = finish(model, config, splits)
    model.meta["name"] = name
    out = args.out or args.model
    write_model_dir(model, out, metrics, model_card(model, metrics), overwrite=True)
    dev = metrics["dev"]
    print(f"{out}: dev micro F1 {dev['micro']['f1']:.3f}, macro F1 {dev['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
