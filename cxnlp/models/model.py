"""CXModel: a scorer plus segmentation, pooling, calibration, thresholds and implications."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp import __version__
from cxnlp.calibration import PlattCalibrator
from cxnlp.models.base import (
    CONFIG_FILE,
    FORMAT_VERSION,
    Item,
    ModelDirError,
    Prediction,
    Scorer,
    read_model_config,
    scorer_class,
    sha256_file,
)
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segment, Segmenter

DOC_WINDOW = 2500
# the pooled logit of a comment with no segment (empty or blank text)
NO_TEXT = -20.0
# config.json fields that describe the model itself; everything else is metadata.
CONFIG_STRUCTURE = {
    "format_version",
    "cxnlp_version",
    "family",
    "keys",
    "taxonomy",
    "segmenter",
    "pooling",
    "calibration",
    "thresholds",
    "scorer",
    "files",
    "sha256",
}


class CXModel:
    """Multi-label tagger over whole comments.

    A comment's score for a key is the highest score any of its segments gets
    (a tag needs one sentence that carries it), which also names the evidence.
    Scores are calibrated per key; a key is predicted when its probability
    reaches the key's threshold; the taxonomy's implications are then applied.
    """

    def __init__(
        self,
        scorer: Scorer,
        taxonomy: Taxonomy,
        segmenter: Segmenter | None = None,
        calibrator: PlattCalibrator | None = None,
        thresholds: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
        pooling: str = "max",
    ) -> None:
        if pooling not in ("max", "max+doc"):
            raise ValueError(f"unknown pooling {pooling!r} (expected 'max' or 'max+doc')")
        self.pooling = pooling
        self.scorer = scorer
        self.taxonomy = taxonomy
        self.keys = list(taxonomy.keys)
        self.index = {k: j for j, k in enumerate(self.keys)}
        self.segmenter = segmenter or Segmenter()
        self.calibrator = calibrator or PlattCalibrator.identity(len(self.keys))
        self.thresholds = np.full(len(self.keys), 0.5) if thresholds is None else np.asarray(thresholds, dtype=float)
        self.meta = dict(meta or {})

    @property
    def family(self) -> str:
        return self.scorer.family

    def with_calibration(self, calibrator: PlattCalibrator, thresholds: np.ndarray, meta: dict[str, Any]) -> CXModel:
        """The same scorer (shared, not copied) with other calibration, thresholds and metadata."""
        return CXModel(self.scorer, self.taxonomy, self.segmenter, calibrator, thresholds, meta, self.pooling)

    # -------------------------------------------------------------- scoring
    def segment(self, texts: Sequence[str]) -> list[list[Segment]]:
        return [self.segmenter.split(t) if isinstance(t, str) else [] for t in texts]

    def pooled_scores(
        self, texts: Sequence[str], segs: list[list[Segment]] | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[list[Segment]]]:
        """Per comment and key: the pooled logit and the index of the best segment.

        ``max``: the best segment's logit.  ``max+doc``: the best segment's
        logit plus the logit of the text around it, so that labels spread
        over several sentences (a CFPB narrative's unresolved problem) count
        as well as one clear sentence.  The "text around it" is the whole
        comment up to ``DOC_WINDOW`` characters (the longest comment in the
        training data); longer comments are cut into windows of consecutive
        segments and the best window wins, so one clear sentence in a
        100,000-character export is not drowned by the rest.  ``segs``: the texts' segments when the
        caller already has them (from a segmenter with this model's settings).
        """
        segs = self.segment(texts) if segs is None else segs
        k = len(self.keys)
        windows: list[list[tuple[int, int]]] = []  # per comment: (first, last+1) segment index
        for ss in segs:
            ws, first = [], 0
            for i in range(1, len(ss) + 1):
                if i == len(ss) or ss[i].end - ss[first].start > DOC_WINDOW:
                    ws.append((first, i))
                    first = i
            windows.append(ws if ss else [])
        flat: list[Item] = [s.text for ss in segs for s in ss]
        if self.pooling == "max+doc":
            # Each window as its segments: the fast family reuses their counts.
            flat += [tuple(s.text for s in ss[a:b]) for ss, ws in zip(segs, windows, strict=True) for a, b in ws]
        logits = self.scorer.decision_function(flat) if flat else np.zeros((0, k))
        pooled = np.full((len(texts), k), NO_TEXT, dtype=np.float64)
        argmax = np.full((len(texts), k), -1, dtype=np.int64)
        pos = 0
        doc_pos = sum(len(ss) for ss in segs)
        cols = np.arange(k)
        for i, ss in enumerate(segs):
            if not ss:
                continue
            block = logits[pos : pos + len(ss)]
            pos += len(ss)
            for a, b in windows[i]:
                local = block[a:b].argmax(axis=0)
                score = block[a:b][local, cols]
                if self.pooling == "max+doc":
                    score = score + logits[doc_pos]
                    doc_pos += 1
                better = score > pooled[i]
                pooled[i] = np.where(better, score, pooled[i])
                argmax[i] = np.where(better, local + a, argmax[i])
        return pooled, argmax, segs

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), n_keys)."""
        pooled, _, _ = self.pooled_scores(texts)
        return self.calibrator.transform(pooled)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """0/1 decisions per key with the taxonomy's implications applied."""
        preds = self.analyse(texts)
        out = np.zeros((len(texts), len(self.keys)), dtype=np.int8)
        for i, p in enumerate(preds):
            for key in p.keys:
                out[i, self.index[key]] = 1
        return out

    def analyse(self, texts: Sequence[str]) -> list[Prediction]:
        pooled, argmax, segs = self.pooled_scores(texts)
        probs = self.calibrator.transform(pooled)
        out = []
        for i in range(len(texts)):
            # no segment, no evidence: no tag, whatever a calibration makes of the empty score
            direct = [k for j, k in enumerate(self.keys) if probs[i, j] >= self.thresholds[j]] if segs[i] else []
            evidence = {}
            for k in direct:
                s = segs[i][argmax[i, self.index[k]]]
                evidence[k] = (s.start, s.end)
            keys = self.taxonomy.implied(direct)
            p = probs[i].copy()
            for k in keys - set(direct):
                # An implied key borrows the score and evidence of what implies it.
                sources = [d for d in direct if k in self.taxonomy.implied([d])]
                src = max(sources, key=lambda d: p[self.index[d]])
                p[self.index[k]] = max(p[self.index[k]], p[self.index[src]])
                evidence[k] = evidence[src]
            ordered = [k for k in self.keys if k in keys]
            out.append(Prediction(probs=p, keys=ordered, evidence=evidence))
        return out

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | Path, metrics: dict | None = None, card: str | None = None) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        scorer_cfg, files = self.scorer.save(path)
        config = {**self.config_head(), "pooling": self.pooling, "scorer": scorer_cfg, "files": files, **self.meta}
        return write_config(path, config, files, metrics, card)

    def config_head(self) -> dict[str, Any]:
        """The config.json entries every model directory has: format, family, keys, taxonomy, calibration..."""
        return {
            "format_version": FORMAT_VERSION,
            "cxnlp_version": __version__,
            "family": self.family,
            "keys": self.keys,
            "taxonomy": self.taxonomy.to_dict(),
            "segmenter": {"max_chars": self.segmenter.max_chars, "min_chars": self.segmenter.min_chars},
            "calibration": self.calibrator.to_dict(),
            "thresholds": {k: round(float(t), 6) for k, t in zip(self.keys, self.thresholds, strict=True)},
        }

    @classmethod
    def load(cls, path: str | Path) -> CXModel:
        path = Path(path)
        cfg = read_model_config(path)
        if cfg.get("family") == "ensemble":
            from cxnlp.models.ensemble import EnsembleModel

            return EnsembleModel.load(path, cfg)
        try:
            taxonomy = Taxonomy.from_dict(cfg["taxonomy"], source=f"{path / CONFIG_FILE}: taxonomy")
            scorer = scorer_class(cfg["family"]).load(path, cfg)
            seg = Segmenter(**cfg.get("segmenter", {}))
            cal = PlattCalibrator.from_dict(cfg["calibration"])
            thresholds = np.array([float(cfg["thresholds"][k]) for k in taxonomy.keys])
            if cal.a.shape != thresholds.shape:
                raise ValueError(f"calibration for {cal.a.shape[0]} keys, the taxonomy has {thresholds.shape[0]}")
        except ModelDirError:
            raise
        except KeyError as exc:
            raise ModelDirError(f"{path / CONFIG_FILE}: {exc.args[0]!r} is missing") from None
        except Exception as exc:  # a hand-edited config: any reader's error, reported in one line
            raise ModelDirError(f"{path / CONFIG_FILE}: malformed ({type(exc).__name__}: {exc})") from None
        meta = {k: v for k, v in cfg.items() if k not in CONFIG_STRUCTURE}
        model = cls(scorer, taxonomy, seg, cal, thresholds, meta, pooling=cfg.get("pooling", "max"))
        model.path = path
        return model


def write_config(
    path: Path, config: dict[str, Any], files: list[str], metrics: dict | None = None, card: str | None = None
) -> Path:
    """Write ``config.json`` (with the sha256 of ``files``), ``metrics.json`` and the card into ``path``."""
    config = {**config, "sha256": {f: sha256_file(path / f) for f in files}}
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    # safetensors writes owner-only (0600) files; give the weights the mode config.json got (0666 less the
    # umask), so a model directory on shared storage is readable by Spark executors and other users.
    mode = (path / CONFIG_FILE).stat().st_mode & 0o777
    for f in files:
        os.chmod(path / f, mode)
    if metrics is not None:
        (path / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if card is not None:
        (path / "README.md").write_text(card, encoding="utf-8")
    return path


def check_new_model_dir(path: Path, overwrite: bool = False) -> None:
    """Refuse ``path`` as a new model directory unless it is free (or an existing directory and ``overwrite``);
    callers with slow work to do before writing call it first, so that they fail before the work."""
    if path.exists() and not path.is_dir():
        raise ModelDirError(f"{path}: exists and is not a directory")
    if path.exists() and not overwrite:
        raise ModelDirError(f"{path}: already exists; choose another output directory (or overwrite it)")


def write_model_dir(
    model: CXModel, path: str | Path, metrics: dict | None = None, card: str | None = None, overwrite: bool = False
) -> Path:
    """Save ``model`` as a complete new directory, atomically.

    Everything is written to a hidden temporary directory beside ``path``, which is then renamed
    into place, so ``path`` never holds a half-written model.  An existing ``path`` is replaced
    only with ``overwrite`` (renamed aside first, deleted after).
    """
    path = Path(path)
    check_new_model_dir(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    for stale in (tmp, old):
        if stale.exists():
            shutil.rmtree(stale)
    tmp.mkdir()
    try:
        model.save(tmp, metrics=metrics, card=card)
        if path.exists():
            path.rename(old)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():
            old.rename(path)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path
