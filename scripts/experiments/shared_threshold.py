"""Per-key thresholds against one shared threshold, or per-key ones shrunk toward it.

    python scripts/experiments/shared_threshold.py [MODEL]    # default models/cx-default

Scores dev and ``ood_dev`` (the selection sets; never the test splits) with
the model's calibrated probabilities under each rule.  The shared threshold
of the shrinkage rule is half the best micro F1 on the model's calibration
data (dev + held-out synthetic comments): for calibrated probabilities the
F1-optimal threshold is half the reachable F1.  A key's weight on its own
tuned threshold is n / (n + m), n its positives in the calibration data.
"""

from __future__ import annotations

import sys

import numpy as np

from cxnlp.data import label_matrix, load_records, read_jsonl
from cxnlp.evaluation import micro_macro_f1
from cxnlp.models.model import CXModel
from cxnlp.training import TrainConfig, calibration_records


def main(path: str = "models/cx-default") -> None:
    model = CXModel.load(path)
    splits = load_records(None)
    sets = {
        "cal": calibration_records(TrainConfig(), splits),
        "dev": splits["dev"],
        "ood_dev": list(read_jsonl("data/annotated/ood_dev.jsonl")),
    }
    probs = {k: model.predict_proba([r["text"] for r in v]) for k, v in sets.items()}
    y = {k: label_matrix(v, model.keys) for k, v in sets.items()}

    def row(name: str, t: np.ndarray) -> None:
        cells = [f"{a:.3f} / {b:.3f}" for a, b in (micro_macro_f1(y[k], probs[k] >= t) for k in ("dev", "ood_dev"))]
        print(f"| {name} | {' | '.join(cells)} |")

    print("| thresholds | dev micro / macro F1 | ood_dev micro / macro F1 |\n|---|---:|---:|")
    row("per key, as tuned (stored)", model.thresholds)
    for g in (0.2, 0.25, 0.3, 0.35):
        row(f"one shared, {g}", np.full(len(model.keys), g))
    best = max(micro_macro_f1(y["cal"], probs["cal"] >= g)[0] for g in np.arange(0.05, 0.8, 0.01))
    shared, npos = best / 2, y["cal"].sum(0)
    for m in (5, 10, 20, 40, 80):
        w = npos / (npos + m)
        row(f"shrunk toward {shared:.3f}, m={m}", w * model.thresholds + (1 - w) * shared)


if __name__ == "__main__":
    main(*sys.argv[1:])
