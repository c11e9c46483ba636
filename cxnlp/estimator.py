"""A scikit-learn compatible wrapper around :class:`~cxnlp.inference.Tagger`.

Kept apart from :mod:`cxnlp.inference` so that tagging never imports
scikit-learn (about 140 MB per process) unless this wrapper is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator

from cxnlp.inference import Tagger, _as_text


class CXClassifier(BaseEstimator):
    """scikit-learn style wrapper: ``predict`` / ``predict_proba`` over lists of strings.

    It is a fitted, read-only estimator (training is ``cxnlp train``); ``fit``
    only loads the model so that it composes in ``Pipeline`` objects.
    """

    def __init__(self, model: str | None = None) -> None:
        self.model = model

    def fit(self, X=None, y=None) -> CXClassifier:
        self.tagger_ = Tagger.load(self.model)
        self.classes_ = np.array(self.tagger_.keys)
        return self

    def _tagger(self) -> Tagger:
        if not hasattr(self, "tagger_"):
            self.fit()
        return self.tagger_

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self._tagger().predict_proba(list(X))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self._tagger().model.predict([_as_text(t) for t in X])
