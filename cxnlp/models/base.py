"""The model interface and the self-describing, code-free model directory.

A model is a *scorer* (the learned part: ``fast`` or ``encoder``) that gives
each sentence-like segment one score per taxonomy key, wrapped by
:class:`CXModel`, which adds segmentation, max-pooling over segments,
per-label calibration, thresholds and the taxonomy's implications.

A model directory holds only data: ``config.json`` (everything needed to
rebuild the model, thresholds and calibration included), the scorer's
weights as safetensors / JSON, ``metrics.json`` and a ``README.md`` model
card.  Loading refuses any file that could execute code when read (pickle,
joblib, torch ``.bin``/``.pt``).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cxnlp import __version__

# 2: a "max+doc" document is scored as its segments (see ``Item``), not as its raw text.
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
# Extensions that deserialise by running code (pickle protocols).
UNSAFE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".dill", ".npy"}


class ModelDirError(ValueError):
    """A model directory is missing, incomplete, unsafe or from another format version."""


def read_model_config(path: str | Path) -> dict[str, Any]:
    """Read and check ``config.json`` of a model directory; refuse unsafe contents."""
    path = Path(path)
    if not path.is_dir():
        raise ModelDirError(f"{path}: model directory not found")
    for f in sorted(path.rglob("*")):
        if f.suffix.lower() in UNSAFE_SUFFIXES:
            raise ModelDirError(
                f"{f}: refusing to load a model directory containing {f.suffix} files (they can execute code)"
            )
    cfg_path = path / CONFIG_FILE
    if not cfg_path.exists():
        raise ModelDirError(f"{cfg_path}: missing; not a cxnlp model directory")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelDirError(f"{cfg_path}: not valid JSON ({exc.msg})") from None
    fmt = cfg.get("format_version")
    if fmt != FORMAT_VERSION:
        raise ModelDirError(
            f"{cfg_path}: model format {fmt} written by cxnlp {cfg.get('cxnlp_version', '?')}; "
            f"this cxnlp {__version__} reads format {FORMAT_VERSION}: retrain or use a matching cxnlp"
        )
    for name in cfg.get("files", []):
        if not (path / name).exists():
            raise ModelDirError(f"{path / name}: missing from the model directory (listed in config.json)")
    # The weights must be the ones the config, thresholds and metrics were written for: a truncated
    # copy or an edited file would otherwise load, or fail deep inside a reader, with no hint why.
    for name, digest in (cfg.get("sha256") or {}).items():
        if (path / name).exists() and sha256_file(path / name) != digest:
            raise ModelDirError(
                f"{path / name}: its sha256 differs from the one in config.json (damaged or edited); "
                "copy the model again"
            )
    return cfg


# What a scorer scores: a segment (str), or a document given as its segments
# (tuple of str).  Passing documents as segments lets the fast family reuse
# the segments' n-gram counts (a document's counts are their sum) instead of
# counting the whole text a second time.
Item = str | tuple[str, ...]


def item_text(item: Item) -> str:
    """The text of an item, for scorers that read text (a document's segments joined by spaces)."""
    return item if isinstance(item, str) else " ".join(item)


def positive_weights(
    y: np.ndarray, mask: np.ndarray, weight: np.ndarray, power: float, cap: float = np.inf
) -> np.ndarray:
    """Per key, the weight of a positive target: (negatives / positives) ** power, at most ``cap``.

    Counts are the examples' weights over the cells where the key is known; soft targets count as
    their share of a positive and of a negative.  ``power`` 0 gives ones (plain log-loss).  Both
    families use it (``pos_weight_power``): the fast family's linear models uncapped, the encoder's
    loss capped at 50.
    """
    y = np.asarray(y, dtype=float)
    known = (np.asarray(mask) > 0) * np.asarray(weight, dtype=float)[:, None]
    pos = (y * known).sum(axis=0)
    neg = ((1 - y) * known).sum(axis=0)
    ratio = np.where(pos > 0, neg / np.maximum(pos, 1e-9), 1.0)
    return np.minimum(ratio**power, cap) if power else np.ones(len(pos))


class Scorer(ABC):
    """The learned part of a model: one score (logit) per item (segment or document) and key."""

    family: ClassVar[str]

    @abstractmethod
    def fit(
        self,
        texts: Sequence[Item],
        y: np.ndarray,
        mask: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> Scorer:
        """Fit on segments.  ``y`` may hold soft targets in [0, 1]; ``mask`` (n, k) marks
        which (segment, key) targets are known; ``weight`` (n,) weighs segments."""

    @abstractmethod
    def decision_function(self, texts: Sequence[Item]) -> np.ndarray:
        """Logits, shape (len(texts), n_keys)."""

    @abstractmethod
    def save(self, path: Path) -> tuple[dict[str, Any], list[str]]:
        """Write weights under ``path``; return (config entries, files written)."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path, config: dict[str, Any]) -> Scorer: ...


@dataclass
class Prediction:
    """What a model says about one comment, before it is turned into tags."""

    probs: np.ndarray  # (k,) calibrated probabilities
    keys: list[str]  # keys predicted, implications applied
    evidence: dict[str, tuple[int, int]]  # key -> (start, end) in the text


def scorer_class(family: str) -> type[Scorer]:
    if family == "fast":
        from cxnlp.models.fast import FastScorer

        return FastScorer
    if family == "encoder":
        from cxnlp.models.encoder import EncoderScorer

        return EncoderScorer
    raise ValueError(f"unknown model family {family!r} (expected 'fast' or 'encoder')")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
