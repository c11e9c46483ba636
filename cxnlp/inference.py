"""Tagging new comments: typed results and the :class:`Tagger` API (scikit-learn wrapper: :mod:`cxnlp.estimator`).

A :class:`Tagger` is cheap to pickle (it pickles as its model path and reloads
lazily), so it can be shipped to multiprocessing workers, Spark executors,
Ray or Dask tasks; the model is loaded once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cxnlp.models.model import CXModel

BUNDLED_MODELS = Path(__file__).resolve().parents[1] / "models"
DEFAULT_MODEL = BUNDLED_MODELS / "cx-default"
# A single comment longer than this is tagged in windows (see Segmenter), so
# memory stays bounded; the evidence offsets still refer to the full text.
Status = Literal["ok", "empty"]


@dataclass(frozen=True)
class Tag:
    """One label on one comment, with its calibrated score and supporting quote."""

    label: str
    polarity: Literal["positive", "negative"]
    key: str
    score: float
    evidence: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TagResult:
    """A comment's tags; ``scores`` holds every key's calibrated probability (None for empty text),
    so that analysts can apply thresholds of their own."""

    text: str
    tags: list[Tag] = field(default_factory=list)
    status: Status = "ok"
    scores: dict[str, float] | None = field(default=None, repr=False, compare=False)

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.tags]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "tags": [t.to_dict() for t in self.tags]}


def default_model_path() -> Path:
    return DEFAULT_MODEL


def resolve_model(model: str | Path | None) -> Path:
    """A model directory: ``None`` is the bundled default; a path that exists is itself; a bare name
    that does not (``cx-accurate``) is the bundled model of that name, so that it can be asked for
    from any working directory.  Anything else is returned as given, for the loader to report."""
    if model is None or str(model) == "":
        return default_model_path()
    path = Path(model)
    # only a bare name: "./cx-accurate" or "cx-accurate/" is a path the user typed, to be reported if missing
    if (
        not path.exists()
        and str(model) == path.name
        and not path.name.startswith(".")
        and (BUNDLED_MODELS / path).is_dir()
    ):
        return BUNDLED_MODELS / path
    return path


class Tagger:
    """Tag comments with a trained model directory (the bundled default when ``path`` is None)."""

    def __init__(self, path: str | Path | None = None, min_score: float | None = None) -> None:
        self.path = resolve_model(path)
        self.min_score = min_score
        self._model: CXModel | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path | None = None, min_score: float | None = None) -> Tagger:
        tagger = cls(path, min_score)
        tagger.model  # noqa: B018 - load now so that errors surface here
        return tagger

    @property
    def model(self) -> CXModel:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = CXModel.load(self.path)
        return self._model

    @property
    def keys(self) -> list[str]:
        return self.model.keys

    # pickles as its path: workers reload the model once each
    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path), "min_score": self.min_score}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["min_score"])

    def tag(self, text: Any) -> TagResult:
        return self.tag_batch([text])[0]

    def tag_batch(self, texts: Sequence[Any]) -> list[TagResult]:
        clean = [_as_text(t) for t in texts]
        todo = [i for i, t in enumerate(clean) if t.strip()]
        model = self.model
        preds = model.analyse([clean[i] for i in todo]) if todo else []
        out: list[TagResult] = [TagResult(text=t, status="empty") for t in clean]
        tax = model.taxonomy
        for i, pred in zip(todo, preds, strict=True):
            text, tags = clean[i], []
            for key in pred.keys:
                score = float(pred.probs[model.index[key]])
                if self.min_score is not None and score < self.min_score:
                    continue
                info = tax.info(key)
                s, e = pred.evidence[key]
                tags.append(Tag(info.label, info.polarity, key, round(score, 4), text[s:e], s, e))
            scores = dict(zip(model.keys, np.round(pred.probs, 4).tolist(), strict=True))
            out[i] = TagResult(text=text, tags=tags, scores=scores)
        return out

    def tag_many(self, texts: Iterable[Any], batch_size: int = 256) -> Iterator[TagResult]:
        """Tag an iterable of any length lazily, ``batch_size`` comments at a time."""
        it = iter(texts)
        while batch := list(islice(it, batch_size)):
            yield from self.tag_batch(batch)

    def tag_frame(self, df, column: str, batch_size: int = 256, format: str = "long"):
        """A copy of ``df`` with the tags added: ``status`` and a ``tags`` column (long), or ``status``,
        ``score_<key>``, ``tag_<key>`` and ``evidence`` (wide). Added columns whose names ``df`` already
        uses are prefixed ``cx_``, as in ``cxnlp tag``."""
        import pandas as pd

        if format not in ("long", "wide"):
            raise ValueError(f"format must be 'long' or 'wide', not {format!r}")
        if column not in df.columns:
            raise KeyError(f"column {column!r} not found (columns: {', '.join(map(str, df.columns))})")
        results = list(self.tag_many(df[column].tolist(), batch_size=batch_size))
        extra = pd.DataFrame(
            [wide_row(r, self.keys) if format == "wide" else long_row(r) for r in results], index=df.index
        )
        return join_tag_columns(df, extra)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba([_as_text(t) for t in texts])


def long_row(r: TagResult) -> dict[str, Any]:
    return {"status": r.status, "tags": [t.to_dict() for t in r.tags]}


def wide_row(r: TagResult, keys: Sequence[str]) -> dict[str, Any]:
    """One column pair per key: the calibrated score (whether tagged or not; missing for empty text)
    and the 0/1 tag."""
    row: dict[str, Any] = {"status": r.status}
    by_key = {t.key: t for t in r.tags}
    for k in keys:
        t = by_key.get(k)
        row[f"score_{k}"] = r.scores.get(k) if r.scores is not None else (t.score if t else None)
        row[f"tag_{k}"] = int(t is not None)
    row["evidence"] = " | ".join(f"{t.key}: {t.evidence}" for t in r.tags)
    return row


def join_tag_columns(df, extra):
    """``df`` with the tagging columns ``extra`` appended; names ``df`` already uses get a ``cx_`` prefix,
    so no input column is overwritten or duplicated."""
    import pandas as pd

    clash = {c: f"cx_{c}" for c in extra.columns if c in df.columns}
    return pd.concat([df, extra.rename(columns=clash)], axis=1)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas
        return ""
    return value if isinstance(value, str) else str(value)
