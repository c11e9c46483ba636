"""EnsembleModel: several trained models tagging as one (the fast model and the encoder, say).

Each member scores a comment as it would alone (its own segmentation, pooling and Platt scaling) and
gives calibrated log-odds per key; the ensemble's score is their weighted sum, calibrated and
thresholded anew on the calibration data (:func:`cxnlp.training.fit_ensemble`).  Members disagree
most where each is weakest (the fast model on in-domain rare keys, the encoder out of domain), so
the sum beats both.  A tag's evidence is the sentence chosen by the member most confident in it.

On disk an ensemble is a model directory whose ``members/`` hold complete member directories,
each loaded, with the same safety checks, as on its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp.calibration import PlattCalibrator
from cxnlp.models.base import CONFIG_FILE, ModelDirError, read_model_config
from cxnlp.models.model import CONFIG_STRUCTURE, NO_TEXT, CXModel, write_config
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segment

FAMILY = "ensemble"
MEMBERS_DIR = "members"


class EnsembleModel(CXModel):
    """A weighted sum of member models' calibrated log-odds, with its own calibration and thresholds."""

    def __init__(
        self,
        members: Sequence[CXModel],
        weights: Sequence[float] | None = None,
        calibrator: PlattCalibrator | None = None,
        thresholds: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
        first = members[0]
        for m in members[1:]:
            if m.keys != first.keys:
                raise ValueError("ensemble members must tag the same keys in the same order")
            if (m.segmenter.max_chars, m.segmenter.min_chars) != (first.segmenter.max_chars, first.segmenter.min_chars):
                # evidence offsets come from one member's segments: all must cut comments alike
                raise ValueError("ensemble members must use the same segmenter settings")
        w = np.full(len(members), 1.0 / len(members)) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (len(members),) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"ensemble weights must be {len(members)} non-negative numbers, not all 0")
        self.members = list(members)
        self.weights = w / w.sum()
        super().__init__(
            scorer=first.scorer,  # unused for scoring; kept so code reading model.scorer still works
            taxonomy=first.taxonomy,
            segmenter=first.segmenter,
            calibrator=calibrator,
            thresholds=thresholds,
            meta=meta,
            pooling=first.pooling,
        )

    @property
    def family(self) -> str:
        return FAMILY

    def member_logits(self, texts: Sequence[str]) -> tuple[list[np.ndarray], list[np.ndarray], list[list[Segment]]]:
        """Each member's calibrated log-odds and best-segment indices, and the segments (cut once: the
        members' segmenter settings are the same)."""
        segs = self.segment(texts)
        zs, argmaxes = [], []
        for m in self.members:
            pooled, argmax, _ = m.pooled_scores(texts, segs)
            zs.append(m.calibrator.logits(pooled))
            argmaxes.append(argmax)
        return zs, argmaxes, segs

    def combine(self, zs: Sequence[np.ndarray]) -> np.ndarray:
        return sum(w * z for w, z in zip(self.weights, zs, strict=True))

    def pooled_scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[list[Segment]]]:
        zs, argmaxes, segs = self.member_logits(texts)
        # the evidence of the member that gives the key the highest calibrated log-odds
        best = np.stack(zs).argmax(axis=0)
        argmax = np.take_along_axis(np.stack(argmaxes), best[None], axis=0)[0]
        combined = self.combine(zs)
        # a comment without a segment has nothing to score: the sentinel a single model gives it
        combined[[not ss for ss in segs]] = NO_TEXT
        return combined, argmax, segs

    def with_calibration(self, calibrator: PlattCalibrator, thresholds: np.ndarray, meta: dict[str, Any]):
        return EnsembleModel(self.members, self.weights, calibrator, thresholds, meta)

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | Path, metrics: dict | None = None, card: str | None = None) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        entries, files = [], []
        for i, m in enumerate(self.members):
            rel = f"{MEMBERS_DIR}/{i}-{m.family}"
            m.save(path / rel, metrics=None, card=None)
            member_cfg = json.loads((path / rel / CONFIG_FILE).read_text(encoding="utf-8"))
            entries.append({"dir": rel, "family": m.family, "weight": round(float(self.weights[i]), 6)})
            files += [f"{rel}/{CONFIG_FILE}"] + [f"{rel}/{f}" for f in member_cfg["files"]]
        config = {**self.config_head(), "members": entries, "files": files, **self.meta}
        return write_config(path, config, files, metrics, card)

    @classmethod
    def load(cls, path: str | Path, cfg: dict[str, Any] | None = None) -> EnsembleModel:
        """Load an ensemble directory (``cfg``: its config.json, when the caller has read and checked it)."""
        path = Path(path)
        cfg = read_model_config(path) if cfg is None else cfg
        if cfg.get("family") != FAMILY:
            raise ModelDirError(f"{path / CONFIG_FILE}: family {cfg.get('family')!r}, not an ensemble")
        members, weights = [], []
        for e in cfg.get("members", []):
            member_dir = (path / e["dir"]).resolve()
            if path.resolve() not in member_dir.parents:
                raise ModelDirError(f"{path / CONFIG_FILE}: member {e['dir']!r} lies outside the model directory")
            members.append(CXModel.load(member_dir))
            weights.append(e["weight"])
        taxonomy = Taxonomy.from_dict(cfg["taxonomy"], source=f"{path / CONFIG_FILE}: taxonomy")
        if len(members) < 2 or any(m.keys != list(taxonomy.keys) for m in members):
            raise ModelDirError(f"{path / CONFIG_FILE}: an ensemble needs two or more members tagging its keys")
        cal = PlattCalibrator.from_dict(cfg["calibration"])
        thresholds = np.array([cfg["thresholds"][k] for k in taxonomy.keys])
        meta = {k: v for k, v in cfg.items() if k not in CONFIG_STRUCTURE | {"members"}}
        model = cls(members, weights, cal, thresholds, meta)
        model.path = path
        return model
