"""How should ``cxnlp calibrate`` adapt a model to a user's domain from 50-300 labeled comments?

    python scripts/experiments/domain_calibration.py --phase select   # choose the method: ood_dev (+ dev)
    python scripts/experiments/domain_calibration.py --phase report   # once, with the chosen method: ood_test, test

Cross-fitting: a split is cut into two halves, stratified by ``source`` (each source's comments
shuffled and halved); the method is fitted on one half (or a stratified subsample of it: 50 or
100 comments, the size a user would label) and scored on the other half, then the other way
round, for 20 seeds.  Every row is scored on the same halves as the default model's, so the
"vs default" columns are paired differences (mean and standard error over the 40 scorings,
which overlap and so understate the spread a little).  Keys with no positive example in an
evaluation half do not count in its macro F1 (see ``cxnlp.evaluation.scores``).

Variants (all start from the stored calibration and thresholds; keys without a positive example
in the sample keep theirs in every variant):

- (a) refit: Platt scaling and F1-optimal thresholds fitted on the sample alone.
- (b) shrink: Platt slope and offset refitted toward the stored ones (``PlattCalibrator.refit``,
  one prior strength for both, by 5-fold cross-validated log-loss on the sample) and per-key
  thresholds tuned on the sample, shrunk toward the stored ones in log-odds with 10
  pseudo-positives: ``(n+ * tuned + 10 * stored) / (n+ + 10)``.
- (c) refit where a key has >= 5 positives (as (a)); other keys keep stored values.
- (d) shared threshold only: calibration kept; every key's threshold = half the micro F1 the
  stored model reaches on the sample (for calibrated probabilities the F1-optimal threshold is
  half the reachable F1).
- (e) offset + shared: the offset of each key's log-odds refitted toward the stored one (prior
  strength by cross-validation), the slope held (``SLOPE_STRENGTH``), with (d)'s threshold.
- (f) (b)'s calibration; the sample chooses between the stored per-key thresholds and (d)'s
  shared one by in-sample micro + macro F1 (the chosen method of the first selection run).
- chosen, ``cxnlp.calibration.recalibrate``: (e)'s calibration and (f)'s choice of thresholds.

The select phase uses ``ood_dev`` and, as an in-domain guard, ``dev`` (the stored calibration
and thresholds were fitted on dev, so there the default row is in-sample and favoured).  The
report phase touches ``ood_test`` and ``test`` with the chosen method only.  Each phase prints
its tables and appends them to ``benchmarks/domain_calibration.md``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cxnlp.calibration import (
    SLOPE_STRENGTH,
    PlattCalibrator,
    _sigmoid,
    choose_strength,
    recalibrate,
    tune_thresholds,
)
from cxnlp.data import label_matrix, load_records
from cxnlp.evaluation import evaluate_records, micro_macro_f1
from cxnlp.inference import default_model_path
from cxnlp.models.model import CXModel

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "domain_calibration.md"
SEEDS = range(20)
WATCH = ("problem_solving+", "brush_off", "proactivity+")  # keys the default misses most out of domain


class CachedModel:
    """The model's pooled scores computed once per comment: only calibration and thresholds vary."""

    def __init__(self, model: CXModel) -> None:
        self.model = model
        self.memo: dict[str, tuple] = {}

    def pooled(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            p, a, s = self.model.pooled_scores(missing)
            self.memo.update({t: (p[i], a[i], s[i]) for i, t in enumerate(missing)})
        k = len(self.model.keys)
        rows = [self.memo[t] for t in texts]
        return (
            np.array([r[0] for r in rows]).reshape(len(texts), k),
            np.array([r[1] for r in rows]).reshape(len(texts), k),
            [r[2] for r in rows],
        )

    def variant(self, calibrator: PlattCalibrator, thresholds: np.ndarray) -> CXModel:
        m = copy.copy(self.model)
        m.calibrator, m.thresholds = calibrator, np.asarray(thresholds, dtype=float)
        m.pooled_scores = self.pooled  # same scores, new calibration: analyse() is otherwise unchanged
        return m


# ------------------------------------------------------------------ variants
def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _keep_where(mask, cal: PlattCalibrator, thr, base: PlattCalibrator, t0):
    a, b = np.where(mask, base.a, cal.a), np.where(mask, base.b, cal.b)
    return PlattCalibrator(a, b), np.where(mask, t0, thr)


def refit(base, t0, s, y, min_pos=1):
    cal = PlattCalibrator.fit(s, y)
    thr = tune_thresholds(cal.transform(s), y)
    return _keep_where((y > 0).sum(0) < min_pos, cal, thr, base, t0)


def shrink(base, t0, s, y, pseudo=10):
    cal = base.refit(s, y, choose_strength(base, s, y))  # one strength for slope and offset
    npos = (y > 0).sum(0)
    tuned = tune_thresholds(cal.transform(s), y)
    thr = _sigmoid((npos * _logit(tuned) + pseudo * _logit(t0)) / (npos + pseudo))
    return _keep_where(npos == 0, cal, thr, base, t0)


def shared_threshold(cal, base, t0, s, y):
    f1 = micro_macro_f1(y, base.transform(s) >= t0)[0]
    return np.where((y > 0).any(0), max(0.05, f1 / 2), t0)


def shared_only(base, t0, s, y):
    return base, shared_threshold(base, base, t0, s, y)


def offset_shared(base, t0, s, y):
    cal = base.refit(s, y, choose_strength(base, s, y, slope_strength=SLOPE_STRENGTH), SLOPE_STRENGTH)
    return _keep_where((y > 0).sum(0) == 0, cal, shared_threshold(cal, base, t0, s, y), base, t0)


def shrink_choice(base, t0, s, y):
    cal = base.refit(s, y, choose_strength(base, s, y))
    kept = (y > 0).sum(0) == 0
    candidates = {"stored": t0, "shared": shared_threshold(cal, base, t0, s, y)}
    probs = cal.transform(s)
    crit = {k: sum(micro_macro_f1(y, probs >= t)) for k, t in candidates.items()}
    return _keep_where(kept, cal, candidates["shared" if crit["shared"] > crit["stored"] else "stored"], base, t0)


def chosen(base, t0, s, y):
    r = recalibrate(base, t0, s, y)
    return r.calibrator, r.thresholds


def default(base, t0, s, y):
    return base, t0


VARIANTS = {
    "default (no calibration)": default,
    "(a) refit on the sample": refit,
    "(b) shrink toward stored": shrink,
    "(c) refit keys with >= 5 positives": lambda b, t, s, y: refit(b, t, s, y, min_pos=5),
    "(d) shared threshold F1/2 only": shared_only,
    "(e) offset + shared threshold": offset_shared,
    "(f) shrink + threshold choice": shrink_choice,
    "chosen: recalibrate()": chosen,
}


# ------------------------------------------------------------------ protocol
def halves(records: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Two halves, each source's comments shuffled and split (an odd one out goes to a random half)."""
    rng = random.Random(seed)
    by: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by.setdefault(r.get("source", ""), []).append(i)
    a: list[int] = []
    b: list[int] = []
    for src in sorted(by):
        idx = by[src][:]
        rng.shuffle(idx)
        cut = len(idx) // 2 + (len(idx) % 2 and rng.random() < 0.5)
        a += idx[:cut]
        b += idx[cut:]
    return [records[i] for i in sorted(a)], [records[i] for i in sorted(b)]


def subsample(records: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` comments, each source in proportion (largest remainders)."""
    if n >= len(records):
        return records
    rng = random.Random(10_000 + seed)
    by: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by.setdefault(r.get("source", ""), []).append(i)
    exact = {s: n * len(v) / len(records) for s, v in by.items()}
    quota = {s: int(q) for s, q in exact.items()}
    for s in sorted(exact, key=lambda s: exact[s] - quota[s], reverse=True)[: n - sum(quota.values())]:
        quota[s] += 1
    out: list[int] = []
    for s in sorted(by):
        idx = by[s][:]
        rng.shuffle(idx)
        out += idx[: quota[s]]
    return [records[i] for i in sorted(out)]


def score(cm: CachedModel, cal, thr, records) -> dict:
    e = evaluate_records(cm.variant(cal, thr), records, n_errors=0)
    out = {
        "micro": e["micro"]["f1"],
        "macro": e["macro_f1"],
        "ece": e["ece"],
        "p": e["micro"]["precision"],
        "r": e["micro"]["recall"],
    }
    for k in WATCH:
        out[k] = e["per_label"][k]["recall"] if e["per_label"][k]["support"] else np.nan
    return out


def cross_fit(cm: CachedModel, records, variants, sizes, seeds=SEEDS) -> dict:
    """{(size, variant): [scores per (seed, direction)]}; size None = the whole half."""
    base, t0 = cm.model.calibrator, cm.model.thresholds.copy()
    res: dict = {}
    for size in sizes:
        for seed in seeds:
            first, second = halves(records, seed)
            for fit_on, test_on in ((first, second), (second, first)):
                sample = subsample(fit_on, size, seed) if size else fit_on
                s, _, _ = cm.pooled([r["text"] for r in sample])
                y = label_matrix(sample, cm.model.keys)
                for name in variants:
                    cal, thr = VARIANTS[name](base, t0, s, y)
                    res.setdefault((size, name), []).append(score(cm, cal, thr, test_on))
    return res


def _paired(rows: list[dict], ref: list[dict], key: str) -> str:
    d = np.array([r[key] for r in rows]) - np.array([r[key] for r in ref])
    return f"{d.mean():+.3f} ± {d.std() / np.sqrt(len(d)):.3f}"


def table(res: dict, sizes, variants, n_half: int, watch: bool = False) -> list[str]:
    cols = "| sample | method | micro F1 | vs default | macro F1 | vs default | ECE | micro P / R |"
    extra = "".join(f" {k} R |" for k in WATCH) if watch else ""
    lines = [cols + extra, "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * (len(WATCH) if watch else 0)]
    for size in sizes:
        ref = res[(size, variants[0])]
        for name in variants:
            rows = res[(size, name)]
            m = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}

            first = name == variants[0]
            dmicro, dmacro = ("", "") if first else (_paired(rows, ref, "micro"), _paired(rows, ref, "macro"))
            label = f"{size} comments" if size else f"half (~{n_half})"
            line = (
                f"| {label} | {name} | {m['micro']:.3f} | {dmicro} | {m['macro']:.3f} | {dmacro} |"
                f" {m['ece']:.4f} | {m['p']:.3f} / {m['r']:.3f} |"
            )
            if watch:
                line += "".join(f" {m[k]:.2f} |" for k in WATCH)
            lines.append(line)
    return lines


def header(title: str, argv: list[str], model_path: Path) -> list[str]:
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return [
        f"## {title}",
        "",
        f"`python scripts/experiments/domain_calibration.py {' '.join(argv)}` ({datetime.date.today()}, commit"
        f" {commit}, model `{model_path.name}`). Cross-fitting over {len(SEEDS)} seeds x 2 directions, stratified"
        " by source; means over the scorings, `vs default`: paired difference, mean ± standard error.",
        "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phase", choices=("select", "report"), default="select")
    ap.add_argument("--model", type=Path, default=default_model_path())
    ap.add_argument("--no-write", action="store_true", help="print only; do not append to the benchmark file")
    args = ap.parse_args()
    t_start = time.time()
    cm = CachedModel(CXModel.load(args.model))
    splits = load_records(None, cm.model.taxonomy)
    lines: list[str] = []
    if args.phase == "select":
        lines += header("Selection: ood_dev (and dev as an in-domain guard)", sys.argv[1:], args.model)
        names = list(VARIANTS)
        for split in ("ood_dev", "dev"):
            records = splits[split]
            res = cross_fit(cm, records, names, (None, 50))
            lines += [f"**{split}** ({len(records)} comments; fit on one half or 50 of it, score the other half)", ""]
            lines += table(res, (None, 50), names, len(records) // 2, watch=split == "ood_dev")
            lines.append("")
    else:
        lines += header("Report: the chosen method on ood_test and test (run once)", sys.argv[1:], args.model)
        names = ["default (no calibration)", "chosen: recalibrate()"]
        for split, sizes in (("ood_test", (None, 100, 50)), ("test", (None, 100))):
            records = splits[split]
            res = cross_fit(cm, records, names, sizes)
            lines += [f"**{split}** ({len(records)} comments; fit on one half or a subsample, score the other)", ""]
            lines += table(res, sizes, names, len(records) // 2, watch=split == "ood_test")
            lines.append("")
        # Transfer: fitted on every ood_dev comment, scored on every ood_test comment.  The two files share their
        # eight domains (split 40/60 within each writer's batch): other comments from the same domains.
        base, t0 = cm.model.calibrator, cm.model.thresholds.copy()
        dev = splits["ood_dev"]
        s, _, _ = cm.pooled([r["text"] for r in dev])
        y = label_matrix(dev, cm.model.keys)
        r = recalibrate(base, t0, s, y)
        lines += [
            "**transfer**: fitted on all of ood_dev (200 comments), scored on all of ood_test (300 other comments"
            " from the same eight domains)",
            "",
            "| method | micro F1 | macro F1 | ECE | micro P / R |" + "".join(f" {k} R |" for k in WATCH),
            "|---|---:|---:|---:|---:|" + "---:|" * len(WATCH),
        ]
        for name, (cal, thr) in (
            ("default (no calibration)", (base, t0)),
            ("chosen: recalibrate()", (r.calibrator, r.thresholds)),
        ):
            m = score(cm, cal, thr, splits["ood_test"])
            lines.append(
                f"| {name} | {m['micro']:.3f} | {m['macro']:.3f} | {m['ece']:.4f} | {m['p']:.3f} / {m['r']:.3f} |"
                + "".join(f" {m[k]:.2f} |" for k in WATCH)
            )
        lines += [
            "",
            f"(transfer fit: prior strength {r.strength:g}, thresholds {r.threshold_rule}"
            f" ({r.shared_threshold:.3f} shared), stored model's micro F1 on ood_dev {r.sample_f1:.3f})",
            "",
        ]
    lines.append(f"({time.time() - t_start:.0f} s)")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with OUT.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
