"""The ``fast`` family: TF-IDF word and character n-grams + one logistic regression per key.

No torch at inference: tagging is a sparse matrix product, thousands of
comments per second on two cores.  Character n-grams (within word bounds)
make it robust to the misspellings and run-together words of real comments.
Soft targets (the encoder's probabilities on unlabeled text, for
distillation) are fitted by splitting each segment into a positive copy
weighted ``p`` and a negative copy weighted ``1 - p``.

Saved as ``vocab.json`` (n-gram -> column) and ``weights.safetensors`` (idf,
coefficients, intercepts): data only, nothing executable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from cxnlp.models.base import Scorer

TOKEN_PATTERN = r"(?u)\b\w[\w']*\b"


class FastScorer(Scorer):
    family = "fast"

    def __init__(
        self,
        keys: Sequence[str],
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        min_df: int = 2,
        max_features: int = 150_000,
        C: float = 4.0,
        n_jobs: int = 2,
    ) -> None:
        self.keys = list(keys)
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.n_jobs = n_jobs
        self._vecs: list[CountVectorizer] = []
        self.idf: np.ndarray | None = None
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None

    # ------------------------------------------------------------- features
    def _new_vectorizers(self, vocab: dict[str, dict[str, int]] | None = None) -> list[CountVectorizer]:
        specs = {"word": dict(analyzer="word", ngram_range=self.word_ngrams, token_pattern=TOKEN_PATTERN)}
        if self.char_ngrams:
            specs["char"] = dict(analyzer="char_wb", ngram_range=self.char_ngrams)
        out = []
        for name, kw in specs.items():
            if vocab is not None:
                out.append(CountVectorizer(lowercase=True, vocabulary=vocab[name], dtype=np.float32, **kw))
            else:
                share = self.max_features // len(specs)
                out.append(
                    CountVectorizer(lowercase=True, min_df=self.min_df, max_features=share, dtype=np.float32, **kw)
                )
        return out

    def _counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([v.transform(texts) for v in self._vecs], format="csr", dtype=np.float32)

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        X = self._counts(texts)
        np.log1p(X.data, out=X.data)  # sublinear tf
        X = X.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms).dot(X).tocsr().astype(np.float32)

    # ------------------------------------------------------------------ fit
    def fit(self, texts, y, mask, weight=None) -> FastScorer:
        n = len(texts)
        weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
        self._vecs = self._new_vectorizers()
        # The vocabulary comes from labeled and unlabeled text alike (no labels used).
        for v in self._vecs:
            v.fit(texts)
        counts = self._counts(texts)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        X = self.features(texts)
        fits = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(self._fit_one)(X, y[:, j], mask[:, j], weight) for j in range(len(self.keys))
        )
        self.coef = np.stack([c for c, _ in fits], axis=1).astype(np.float32)
        self.intercept = np.array([b for _, b in fits], dtype=np.float32)
        return self

    def _fit_one(self, X: sp.csr_matrix, t: np.ndarray, m: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
        rows = np.flatnonzero(m > 0)
        t, w = t[rows].astype(float), w[rows]
        soft = (t > 0) & (t < 1)
        hard_pos, hard_neg = rows[t >= 1], rows[t <= 0]
        soft_rows = rows[soft]
        Xs = sp.vstack([X[hard_pos], X[hard_neg], X[soft_rows], X[soft_rows]], format="csr")
        ys = np.r_[np.ones(len(hard_pos)), np.zeros(len(hard_neg)), np.ones(soft.sum()), np.zeros(soft.sum())]
        ws = np.r_[w[t >= 1], w[t <= 0], w[soft] * t[soft], w[soft] * (1 - t[soft])]
        if ys.min() == ys.max():
            # A key never (or always) seen: a constant, very confident score.
            return np.zeros(X.shape[1]), (8.0 if ys.min() else -8.0)
        clf = LogisticRegression(C=self.C, solver="liblinear", max_iter=200)
        clf.fit(Xs, ys, sample_weight=ws)
        return clf.coef_[0], float(clf.intercept_[0])

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        if self.coef is None:
            raise RuntimeError("FastScorer is not fitted")
        if len(texts) == 0:
            return np.zeros((0, len(self.keys)), dtype=np.float32)
        X = self.features(texts)
        return np.asarray(X @ self.coef) + self.intercept

    # ------------------------------------------------------------------ I/O
    def save(self, path: Path) -> tuple[dict[str, Any], list[str]]:
        names = ["word", "char"][: len(self._vecs)]
        vocab = {name: {t: int(i) for t, i in v.vocabulary_.items()} for name, v in zip(names, self._vecs, strict=True)}
        (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        save_file({"idf": self.idf, "coef": self.coef, "intercept": self.intercept}, str(path / "weights.safetensors"))
        cfg = {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "C": self.C,
            "n_features": int(self.coef.shape[0]),
        }
        return cfg, ["vocab.json", "weights.safetensors"]

    @classmethod
    def load(cls, path: Path, config: dict[str, Any]) -> FastScorer:
        sc = config["scorer"]
        self = cls(
            config["keys"], tuple(sc["word_ngrams"]), sc["char_ngrams"] and tuple(sc["char_ngrams"]), sc["min_df"]
        )
        vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        self._vecs = self._new_vectorizers(vocab)
        w = load_file(str(path / "weights.safetensors"))
        self.idf, self.coef, self.intercept = w["idf"], w["coef"], w["intercept"]
        if self.coef.shape != (self.idf.shape[0], len(self.keys)):
            raise ValueError(f"{path / 'weights.safetensors'}: shape {self.coef.shape} does not match the vocabulary")
        return self
