"""The label model: LF votes -> one calibrated probability per comment and key.

Each key is a binary latent class ``y``.  Every source voting on that key
(an (LF, key) pair) is an annotator whose output ``o`` is one of *abstain*,
*absent* or *present*; the model is Dawid and Skene's (1979)::

    P(y, o_1..o_m) = P(y) * prod_j P(o_j | y)

with a full 3-outcome confusion row per class.  Abstaining is modelled, not
ignored: an LF that fires on 30 % of the comments carrying its key and on
0.2 % of the others makes its *silence* evidence too, which is what lets
one-sided LFs (present-or-abstain, the usual kind) be combined at all.
Parameters are fitted by EM over the distinct vote patterns (most comments:
every LF abstains), starting from the majority vote.

With one-sided, rarely overlapping LFs the model is not identifiable from
unlabeled votes alone (one LF firing on 1 % of comments fits "precise LF,
rare key" as well as "noisy LF, common key"), and plain EM drifts to "the
key never occurs"; LFs that fire together on the same evidence (not
independent given ``y``) push it the other way.  Two priors hold it:

* every LF's votes are right ``prior_precision`` (0.7) of the time, at its
  observed vote rate: Dirichlet pseudo-counts worth ``prior_strength`` (10)
  comments on each confusion row;
* the class balance is shrunk halfway (``class_prior_weight`` 0.5; 0 gives
  plain maximum-likelihood Dawid-Skene) towards a guess: without labels
  ``prior_precision * coverage / prior_recall`` (the LFs find half of a key's
  occurrences); with labeled comments, P(y | vote pattern) measured on them
  and carried over to the corpus's patterns (the labeled data was sampled by
  its text, so P(y | votes) transfers where P(y) does not).

Related keys (:data:`DEFAULT_RELATED`) add evidence across keys: for ``problem_solving-`` the majority
vote of the brush_off, rulebook and runaround LFs is one more source (the guideline labels those sins
with ``problem_solving-``), for ``friendliness-`` that of coldness and condescension.  The model
estimates their rates like any LF's, so a related key that often fires without the key counts little.

Gates (:mod:`cxnlp.weak.lf`; ``no_staff_mentioned.v1``) are preconditions, not voters: where a gate
rules a key out, the key's probability is ``gate_prob`` (without labels a fixed 0.01; with labeled
comments the share of gated labeled comments carrying the key, shrunk towards the share over all keys),
and EM runs on the other comments only (the class balance is that of the comments in scope).  The gated
comments enter as known negatives (weight ``gate_weight``): how often an LF fires where the gate rules its
key out is a label-free look at its false-positive rate, the anchor that one-sided votes otherwise lack.
The gate itself gets no estimated accuracy.  Majority vote applies the same gates, so both methods combine
the same votes on the same comments.

Labeled comments (the dev split), when given, also enter EM with their class
observed (semi-supervised).  :meth:`LabelModel.calibrate` optionally fits
per-key Platt scaling on them (better calibrated, but it costs F1 on the
rarest keys, see ``benchmarks/weak_supervision.md``).  Decision thresholds
(:meth:`LabelModel.fit_thresholds`) maximise the *expected* F1 computed from
the model's own probabilities (no labels needed).  The taxonomy's
implications are applied last: ``p(friendliness-) >= p(coldness)``, and for
``implies_any`` the first alternative gets ``p(apathy) * (1 - max p(other
alternatives))``.

Baseline: :func:`majority_vote` (present where more LFs say present than absent, absent where a gate
rules the key out).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp.calibration import PlattCalibrator
from cxnlp.taxonomy import Taxonomy
from cxnlp.weak.apply import Votes

OUTCOMES = ("abstain", "absent", "present")
RELATED_PREFIX = "key:"

# Keys whose votes are evidence for another key (guideline LABELS.md 1.1): a sin that describes *how* the
# customer's issue stayed unresolved comes with ``problem_solving-`` (convention 13: brush_off, rulebook,
# runaround); a named hostile or contemptuous manner comes with ``friendliness-`` (convention 11, and
# condescension is labeled with it 4 times in 5 on the train split).  Majority vote gets only the
# taxonomy's hard implications (coldness -> friendliness-); these are soft: the label model estimates,
# without labels, how often the related key's majority vote fires when the key is present and when it is
# absent, as for any LF.
DEFAULT_RELATED: dict[str, tuple[str, ...]] = {
    "problem_solving-": ("brush_off", "rulebook", "runaround"),
    "friendliness-": ("coldness", "condescension"),
}


@dataclass
class KeyModel:
    """Fitted Dawid-Skene parameters of one key."""

    key: str
    sources: list[int]  # columns of the vote matrix
    names: list[str]  # LF names of those columns
    prior: float  # P(y=1) on the unlabeled data
    theta: np.ndarray  # (m + len(related), 2, 3): P(outcome | y)
    iterations: int = 0
    related: list[str] = field(default_factory=list)  # related keys whose majority vote is evidence too
    gate_prob: float = 0.01  # P(y=1) where a gate rules the key out

    def log_odds(self, obs: np.ndarray, prior: float | None = None) -> np.ndarray:
        """obs: (n, m) outcome indices (0 abstain, 1 absent, 2 present)."""
        p = self.prior if prior is None else prior
        p = min(max(p, 1e-6), 1 - 1e-6)
        lo = np.full(obs.shape[0], np.log(p) - np.log1p(-p))
        if obs.shape[1]:
            lt = np.log(self.theta)
            m = np.arange(obs.shape[1])
            lo += (lt[m, 1, obs] - lt[m, 0, obs]).sum(axis=1)
        return lo

    def gate_log_odds(self) -> float:
        """The log-odds given where a gate rules the key out."""
        p = min(max(self.gate_prob, 1e-6), 1 - 1e-6)
        return float(np.log(p) - np.log1p(-p))

    def lf_stats(self) -> list[dict[str, Any]]:
        """Per source: estimated P(present|y=1), P(present|y=0), precision of its present votes."""
        out = []
        for j, name in enumerate(self.names + [f"{RELATED_PREFIX}{r}" for r in self.related]):
            tp, fp = self.theta[j, 1, 2], self.theta[j, 0, 2]
            fire = self.prior * tp + (1 - self.prior) * fp
            out.append(
                {
                    "lf": name,
                    "key": self.key,
                    "p_present_given_y1": float(tp),
                    "p_present_given_y0": float(fp),
                    "p_absent_given_y1": float(self.theta[j, 1, 1]),
                    "p_absent_given_y0": float(self.theta[j, 0, 1]),
                    "precision": float(self.prior * tp / fire) if fire > 0 else None,
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "names": self.names,
            "prior": self.prior,
            "theta": np.round(self.theta, 8).tolist(),
            "iterations": self.iterations,
            "related": self.related,
            "gate_prob": self.gate_prob,
        }


class LabelModel:
    """Dawid-Skene per key (see the module docstring).

    >>> lm = LabelModel(taxonomy).fit(votes)                 # unlabeled votes only
    >>> lm = LabelModel(taxonomy).fit(votes, dev_votes, y_dev)  # anchored on labeled comments
    >>> probs = lm.predict_proba(votes)                      # (n, len(taxonomy.keys))
    """

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        max_iter: int = 300,
        tol: float = 1e-7,
        smoothing: float = 0.01,
        max_prior: float = 0.5,
        labeled_weight: float = 1.0,
        prior_precision: float = 0.7,
        prior_strength: float = 10.0,
        prior_recall: float = 0.5,
        class_prior_weight: float = 0.5,
        related: dict[str, Sequence[str]] | None = None,
        gate_prob: float = 0.01,
        gate_shrink: float = 20.0,
        gate_weight: float = 1.0,
    ) -> None:
        self.taxonomy = taxonomy or Taxonomy.default()
        self.keys = list(self.taxonomy.keys)
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.max_prior = max_prior
        self.labeled_weight = labeled_weight
        self.prior_precision = prior_precision
        self.prior_strength = prior_strength
        self.prior_recall = prior_recall
        self.class_prior_weight = class_prior_weight
        # Gated comments: P(y=1) without labels; with labels, per-key rates shrunk with this many pseudo-comments.
        self.gate_prob = gate_prob
        self.gate_shrink = gate_shrink
        self.gate_weight = gate_weight  # weight of a gated comment as a known negative (0: left out)
        # Related-key evidence (see DEFAULT_RELATED); ``related={}`` turns it off.
        rel = DEFAULT_RELATED if related is None else related
        self.related = {k: [r for r in rs if r in self.keys and r != k] for k, rs in rel.items() if k in self.keys}
        self.models: dict[str, KeyModel] = {}
        self.sources: list[tuple[str, str]] = []
        self.gates: frozenset[str] = frozenset()
        self.calibrator: PlattCalibrator | None = None
        self.thresholds: np.ndarray | None = None

    # ------------------------------------------------------------------- fit
    def fit(self, votes: Votes, labeled: Votes | None = None, y: np.ndarray | None = None) -> LabelModel:
        """Fit on unlabeled ``votes``; ``labeled`` votes with ``y`` (n_labeled, len(keys)) anchor it."""
        if (labeled is None) != (y is None):
            raise ValueError("pass both the labeled votes and their labels, or neither")
        if labeled is not None and labeled.sources != votes.sources:
            raise ValueError("labeled votes come from a different set of LFs")
        self.sources = list(votes.sources)
        self.gates = frozenset(votes.gates)
        gate_probs = self._gate_probs(labeled, y)
        for k_i, key in enumerate(self.keys):
            cols = votes.voters(key)
            related = [r for r in self.related.get(key, []) if votes.voters(r)]
            # Gated comments are decided by the gate (absent): they are left out of the latent-class fit and
            # enter only as known negatives, showing how often each LF fires without the key.
            all_obs = _observations(votes, cols, related)
            gated = votes.gated(key)
            obs, neg_obs = all_obs[~gated], all_obs[gated]
            lab_obs = lab_y = None
            if labeled is not None:
                keep = ~labeled.gated(key)
                lab_obs = _observations(labeled, cols, related)[keep]
                lab_y = np.asarray(y)[keep, k_i].astype(float)
            self.models[key] = self._fit_key(key, cols, related, obs, lab_obs, lab_y, neg_obs)
            self.models[key].gate_prob = float(gate_probs[k_i])
        return self

    def _gate_probs(self, labeled: Votes | None, y: np.ndarray | None) -> np.ndarray:
        """Per key, P(y=1) where a gate rules it out: ``gate_prob``, or measured on the gated labeled comments
        (shrunk towards the rate over all keys)."""
        out = np.full(len(self.keys), self.gate_prob)
        if labeled is None or y is None or not labeled.gates:
            return out
        y = np.asarray(y, dtype=float)
        masks = np.stack([labeled.gated(k) for k in self.keys], axis=1)
        if not masks.any():
            return out
        pooled = (y[masks].sum() + 0.5) / (masks.sum() + 1.0)
        s = self.gate_shrink
        return (np.where(masks, y, 0).sum(0) + s * pooled) / (masks.sum(0) + s)

    def _fit_key(self, key, cols, related, obs, lab_obs, lab_y, neg_obs=None) -> KeyModel:
        names = [self.sources[j][0] for j in cols]
        m = obs.shape[1]
        km = KeyModel(key, list(cols), names, prior=0.0, theta=np.full((m, 2, 3), 1 / 3), related=list(related))
        if obs.shape[0] == 0 and lab_y is None:
            return km
        # Distinct vote patterns with their counts (most comments: every LF abstains).
        if m:
            patterns, counts = np.unique(obs, axis=0, return_counts=True)
        else:
            patterns, counts = np.zeros((1, 0), np.int8), np.array([obs.shape[0]])
        counts = counts.astype(float)
        if lab_obs is not None and m:
            lab_patterns, lab_w = lab_obs, np.full(len(lab_y), self.labeled_weight)
        else:
            lab_patterns, lab_w = np.zeros((0, m), np.int8), np.zeros(0)
            lab_y = np.zeros(0) if lab_y is None else lab_y
        # Class-prior prior: the LFs' present votes are right ``prior_precision`` of the time and find
        # ``prior_recall`` of the key's occurrences, so P(y=1) ~ precision * coverage / recall.
        own = patterns[:, : len(cols)]
        net = (own == 2).sum(1) - (own == 1).sum(1)
        coverage = float(counts[net > 0].sum() / max(counts.sum(), 1))
        pi0 = self.prior_precision * coverage / self.prior_recall
        if len(lab_w):
            pi0 = _transferred_prior(own, counts, lab_patterns[:, : len(cols)], lab_y)
        pi0 = min(self.max_prior, max(1e-4, pi0))
        cpw = self.class_prior_weight
        self._prior_counts = self._confusion_prior(patterns, counts, lab_patterns, lab_w, pi0)
        # Comments a gate ruled out: outcome counts under y=0, weighted by ``gate_weight``.
        self._neg_counts = np.zeros((m, 3))
        if neg_obs is not None and len(neg_obs) and m:
            for v in range(3):
                self._neg_counts[:, v] = self.gate_weight * (neg_obs == v).sum(0)
        # Start from the majority vote.
        q = np.where(net > 0, 0.9, np.where(net < 0, 0.05, 0.01))
        prev = -np.inf
        for it in range(1, self.max_iter + 1):
            km.prior, km.theta = self._m_step(patterns, counts, q, lab_patterns, lab_w, lab_y, pi0, cpw)
            lo = km.log_odds(patterns)
            q = 1 / (1 + np.exp(-lo))
            ll = self._loglik(km, patterns, counts)
            km.iterations = it
            if abs(ll - prev) < self.tol * max(1.0, abs(ll)):
                break
            prev = ll
        return km

    def _confusion_prior(self, patterns, counts, lab_patterns, lab_w, pi0: float) -> np.ndarray:
        """Dirichlet pseudo-counts (m, 2, 3) saying: each LF's present votes are right ``prior_precision`` of the
        time and its absent votes too, at the LF's observed vote rates and class balance ``pi0``; worth
        ``prior_strength`` comments per class."""
        total = counts.sum() + lab_w.sum()
        rate = np.zeros((patterns.shape[1], 3))
        for v in (1, 2):
            rate[:, v] = (counts @ (patterns == v) + (lab_w @ (lab_patterns == v) if len(lab_w) else 0)) / max(total, 1)
        rho = self.prior_precision
        mean = np.zeros((patterns.shape[1], 2, 3))
        mean[:, 1, 2] = np.minimum(0.9, rho * rate[:, 2] / pi0)
        mean[:, 1, 1] = np.minimum(0.5, (1 - rho) * rate[:, 1] / pi0)
        mean[:, 0, 2] = np.minimum(0.5, (1 - rho) * rate[:, 2] / (1 - pi0))
        mean[:, 0, 1] = np.minimum(0.9, rho * rate[:, 1] / (1 - pi0))
        mean[:, :, 0] = np.clip(1 - mean[:, :, 1] - mean[:, :, 2], 0.05, None)
        mean /= mean.sum(axis=2, keepdims=True)
        return self.prior_strength * mean

    def _m_step(self, patterns, counts, q, lab_patterns, lab_w, lab_y, pi0: float, cpw: float):
        a = self.smoothing
        n_u = counts.sum()
        prior_counts = self._prior_counts
        w1, w0 = counts * q, counts * (1 - q)
        if n_u > 0:
            prior = float((w1.sum() + cpw * n_u * pi0) / (n_u + cpw * n_u))
        else:
            prior = float((lab_y * lab_w).sum() / max(lab_w.sum(), 1e-9))
        prior = min(max(prior, 1e-6), self.max_prior)
        m = patterns.shape[1]
        theta = np.empty((m, 2, 3))
        lw1, lw0 = lab_w * lab_y, lab_w * (1 - lab_y)
        for v in range(3):
            hit = (patterns == v).astype(float)
            theta[:, 1, v] = w1 @ hit + (lw1 @ (lab_patterns == v) if len(lab_w) else 0) + a
            theta[:, 0, v] = w0 @ hit + (lw0 @ (lab_patterns == v) if len(lab_w) else 0) + a
        theta += prior_counts
        theta[:, 0, :] += self._neg_counts
        theta /= theta.sum(axis=2, keepdims=True)
        return prior, theta

    @staticmethod
    def _loglik(km: KeyModel, patterns, counts) -> float:
        if not patterns.shape[1]:
            return 0.0
        lt = np.log(km.theta)
        m = np.arange(patterns.shape[1])
        l1 = np.log(km.prior) + lt[m, 1, patterns].sum(1)
        l0 = np.log1p(-km.prior) + lt[m, 0, patterns].sum(1)
        return float((counts * np.logaddexp(l1, l0)).sum())

    # ------------------------------------------------------------- calibrate
    def calibrate(self, votes: Votes, y: np.ndarray, reg: float = 1.0) -> LabelModel:
        """Per-key Platt scaling of the log-odds on labeled comments (shrunk towards the identity)."""
        self.calibrator = PlattCalibrator.fit(self.log_odds(votes), np.asarray(y), reg=reg)
        return self

    # --------------------------------------------------------------- predict
    def log_odds(self, votes: Votes) -> np.ndarray:
        """(n, len(keys)) log-odds of the fitted model (corpus class prior, no calibration, no implications)."""
        if not self.models:
            raise RuntimeError("LabelModel is not fitted")
        if list(votes.sources) != self.sources or frozenset(votes.gates) != self.gates:
            raise ValueError("votes come from a different set of LFs than the label model was fitted on")
        out = np.zeros((len(votes), len(self.keys)))
        for k_i, key in enumerate(self.keys):
            km = self.models[key]
            out[:, k_i] = km.log_odds(_observations(votes, km.sources, km.related))
            out[votes.gated(key), k_i] = km.gate_log_odds()
        return out

    def predict_proba(self, votes: Votes, calibrated: bool = True, implications: bool = True) -> np.ndarray:
        """(n, len(keys)) probabilities; calibrated on the labeled comments when :meth:`calibrate` was run."""
        lo = self.log_odds(votes)
        if calibrated and self.calibrator is not None:
            probs = self.calibrator.transform(lo)
        else:
            probs = 1 / (1 + np.exp(-np.clip(lo, -40, 40)))
        return apply_implications(probs, self.keys, self.taxonomy) if implications else probs

    def fit_thresholds(self, votes: Votes) -> np.ndarray:
        """Per key, the threshold maximising the expected F1 of :meth:`predict_proba` on ``votes``, kept above
        the probability of a comment with no evidence for the key (see :meth:`unsupported_proba`).

        Without that floor, a key with no present vote on ``votes`` (common on a small ``--dev``) gets the
        lowest threshold and every comment without evidence is tagged with it: with 60 dev comments, a gate
        probability of 0.04 put ``proactivity+`` and ``patience-`` on 164 of 300 comments, none with a quote."""
        th = expected_f1_thresholds(self.predict_proba(votes))
        self.thresholds = np.maximum(th, self.unsupported_proba() + 1e-6)
        return self.thresholds

    def unsupported_proba(self) -> np.ndarray:
        """(len(keys),) each key's highest probability without evidence: where every source abstains (the
        class prior) or where a gate rules the key out (``gate_prob``), calibrated when calibration is fitted."""
        lo = np.empty((2, len(self.keys)))
        for j, k in enumerate(self.keys):
            km = self.models[k]
            lo[0, j] = km.log_odds(np.zeros((1, km.theta.shape[0]), np.int8))[0]
            lo[1, j] = km.gate_log_odds()
        if self.calibrator is not None:
            return self.calibrator.transform(lo).max(axis=0)
        return (1 / (1 + np.exp(-np.clip(lo, -40, 40)))).max(axis=0)

    def predict(self, votes: Votes) -> np.ndarray:
        """(n, len(keys)) 0/1 decisions: probability >= the key's threshold (0.5 before :meth:`fit_thresholds`)."""
        probs = self.predict_proba(votes)
        th = self.thresholds if self.thresholds is not None else 0.5
        return (probs >= th).astype(np.int8)

    def lf_stats(self) -> list[dict[str, Any]]:
        """Per source: the estimated outcome rates and precision (see :meth:`KeyModel.lf_stats`)."""
        return [st for km in self.models.values() for st in km.lf_stats()]

    # ------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "dawid-skene per key, outcomes abstain/absent/present",
            "taxonomy": f"{self.taxonomy.name} {self.taxonomy.version}",
            "smoothing": self.smoothing,
            "sources": [list(s) for s in self.sources],
            "gates": sorted(self.gates),
            "keys": {k: km.to_dict() for k, km in self.models.items()},
            "calibration": self.calibrator.to_dict() if self.calibrator is not None else None,
            "thresholds": None if self.thresholds is None else np.round(self.thresholds, 4).tolist(),
        }

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, taxonomy: Taxonomy | None = None) -> LabelModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        self = cls(taxonomy, smoothing=data.get("smoothing", 0.01))
        self.sources = [tuple(s) for s in data["sources"]]
        self.gates = frozenset(data.get("gates", ()))
        index = {s: j for j, s in enumerate(self.sources)}
        for key in self.keys:
            d = data["keys"].get(key)
            if d is None:
                raise ValueError(f"{path}: no parameters for key {key!r}")
            cols = [index[(n, key)] for n in d["names"]]
            related = list(d.get("related", []))
            theta = np.array(d["theta"], dtype=float).reshape(len(cols) + len(related), 2, 3)
            self.models[key] = KeyModel(
                key, cols, d["names"], d["prior"], theta, d.get("iterations", 0), related, d.get("gate_prob", 0.01)
            )
        if data.get("calibration"):
            self.calibrator = PlattCalibrator.from_dict(data["calibration"])
        if data.get("thresholds") is not None:
            self.thresholds = np.asarray(data["thresholds"], dtype=float)
        return self


def _observations(votes: Votes, cols: Sequence[int], related: Sequence[str]) -> np.ndarray:
    """(n, len(cols) + len(related)) outcome indices: the key's own sources (0 abstain, 1 absent, 2 present),
    then per related key its majority vote as a one-sided source (2 where more of its LFs vote present than
    absent and no gate rules it out, else 0)."""
    own = (votes.L[:, list(cols)] + 1).astype(np.int8)
    if not related:
        return own
    extra = np.zeros((len(votes), len(related)), dtype=np.int8)
    for r_i, r in enumerate(related):
        block = votes.L[:, votes.voters(r)]
        extra[:, r_i] = np.where(((block == 1).sum(1) > (block == 0).sum(1)) & ~votes.gated(r), 2, 0)
    return np.concatenate([own, extra], axis=1)


def _transferred_prior(patterns: np.ndarray, counts: np.ndarray, lab_patterns: np.ndarray, lab_y: np.ndarray) -> float:
    """Class balance of the unlabeled comments from P(y=1 | vote pattern) measured on the labeled ones.

    The labeled comments were sampled by their text (keyword-targeted slices), not by their labels, so
    P(y | votes) carries over where P(y) does not.  Patterns unseen in the labeled data fall back to the
    rate of their group (some LF votes present / none does); estimates are smoothed towards that rate.
    """
    fired_l = ((lab_patterns == 2).sum(1) - (lab_patterns == 1).sum(1)) > 0
    fired_u = ((patterns == 2).sum(1) - (patterns == 1).sum(1)) > 0
    base = {f: (lab_y[fired_l == f].sum() + 0.5) / ((fired_l == f).sum() + 1) for f in (False, True)}
    seen: dict[bytes, tuple[float, int]] = {}
    for row, yy in zip(lab_patterns, lab_y, strict=True):
        n1, n = seen.get(row.tobytes(), (0.0, 0))
        seen[row.tobytes()] = (n1 + yy, n + 1)
    rates = np.empty(len(patterns))
    for i, row in enumerate(patterns):
        n1, n = seen.get(row.tobytes(), (0.0, 0))
        b = base[bool(fired_u[i])]
        rates[i] = (n1 + 2 * b) / (n + 2)
    return float((counts * rates).sum() / max(counts.sum(), 1))


def apply_implications(probs: np.ndarray, keys: Sequence[str], taxonomy: Taxonomy) -> np.ndarray:
    """Raise implied keys' probabilities to those of the keys implying them (two passes)."""
    out = probs.copy()
    index = {k: j for j, k in enumerate(keys)}
    for _ in range(2):
        for lab in taxonomy.labels:
            for src in lab.keys:
                if src not in index:
                    continue
                p = out[:, index[src]]
                for k in lab.implies:
                    if k in index:
                        out[:, index[k]] = np.maximum(out[:, index[k]], p)
                alts = [index[k] for k in lab.implies_any if k in index]
                if alts:
                    others = out[:, alts[1:]].max(axis=1) if len(alts) > 1 else np.zeros(len(out))
                    out[:, alts[0]] = np.maximum(out[:, alts[0]], p * (1 - others))
    return out


def expected_f1_thresholds(probs: np.ndarray, grid: int = 94) -> np.ndarray:
    """Per column, the threshold maximising expected F1 if ``probs`` are calibrated (plug-in, label-free)."""
    out = np.full(probs.shape[1], 0.5)
    cands = np.linspace(0.02, 0.95, grid)
    for k in range(probs.shape[1]):
        p = probs[:, k]
        best = -1.0
        for t in cands:
            sel = p >= t
            tp, fp, fn = p[sel].sum(), (1 - p[sel]).sum(), p[~sel].sum()
            f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
            if f1 > best + 1e-12:
                best, out[k] = f1, t
    return out


def majority_vote(votes: Votes, keys: Sequence[str], taxonomy: Taxonomy | None = None) -> np.ndarray:
    """(n, len(keys)) 0/1: present where more of a key's LFs vote present than absent and no gate rules the
    key out, implications closed."""
    out = np.zeros((len(votes), len(keys)), dtype=np.int8)
    for k_i, key in enumerate(keys):
        cols = votes.voters(key)
        if cols:
            block = votes.L[:, cols]
            out[:, k_i] = (((block == 1).sum(1) > (block == 0).sum(1)) & ~votes.gated(key)).astype(np.int8)
    if taxonomy is not None:
        out = (apply_implications(out.astype(float), keys, taxonomy) >= 0.5).astype(np.int8)
    return out
