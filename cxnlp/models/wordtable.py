"""Per-word feature columns, computed once per distinct word and counted a batch at a time.

The fast family's character n-grams and its static vectors' WordPiece tokens are both made within
whitespace-separated words, so a text's features are the sum of its words' features.  Real comments
repeat a small vocabulary: computing each word's columns once and counting a batch as one sparse
product, ``(texts x distinct words) @ (words x columns)``, replaces a Python loop over every word
of every text.  scipy's product sums a column met in several words as it goes, so each row holds a
column at most once (what ``log1p(tf)`` needs) without sorting anything.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp

# Words kept in a table; it is emptied when full so memory stays flat on endless streams of new words.
CACHE_WORDS = 300_000


class WordTable:
    """Maps a word to its columns (``columns(word)``, called once per distinct word) and counts texts."""

    def __init__(self, columns: Callable[[str], Iterable[int]], n_columns: int, max_words: int = CACHE_WORDS) -> None:
        self.columns = columns
        self.n_columns = n_columns
        self.max_words = max_words
        # The table grows while counting and a Tagger may be shared by threads.
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._id: dict[str, int] = {}
        self._cols = array("i")
        self._ptr = array("q", [0])

    def __len__(self) -> int:
        return len(self._id)

    def counts(self, words_per_text: Sequence[list[str]]) -> sp.csr_matrix:
        """(texts x columns) counts: each text's words' columns, summed."""
        S, W = self.factors(words_per_text)
        return (S @ W).tocsr()

    def factors(self, words_per_text: Sequence[list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``S`` (texts x the batch's distinct words) and ``W`` (those words x columns); counts = S @ W.

        A dense projection of the counts is cheaper as ``S @ (W @ M)``: the distinct words are few.
        """
        words = list(chain.from_iterable(words_per_text))
        with self._lock:
            if len(self._id) >= self.max_words:
                self._reset()
            wid = np.fromiter(map(self._id.get, words, repeat(-1)), np.int64, len(words))
            for i in np.flatnonzero(wid < 0).tolist():
                found = self._id.get(words[i])
                wid[i] = self._add(words[i]) if found is None else found
            uniq, inverse = np.unique(wid, return_inverse=True)
            ptr = np.frombuffer(self._ptr, np.int64)
            start, length = ptr[uniq], ptr[uniq + 1] - ptr[uniq]
            del ptr  # no buffer view may outlive the lock: an array cannot grow while one exists
            # the distinct words' slices of the column array, laid end to end
            pos = np.arange(int(length.sum())) + np.repeat(start - (np.cumsum(length) - length), length)
            cols = np.frombuffer(self._cols, np.int32)[pos]
        W = sp.csr_matrix(
            (np.ones(len(cols), np.float32), cols, np.concatenate(([0], np.cumsum(length)))),
            shape=(len(uniq), self.n_columns),
        )
        lengths = np.fromiter(map(len, words_per_text), np.int64, len(words_per_text))
        S = sp.csr_matrix(
            (np.ones(len(words), np.float32), inverse.ravel(), np.concatenate(([0], np.cumsum(lengths)))),
            shape=(len(words_per_text), len(uniq)),
        )
        return S, W

    def _add(self, word: str) -> int:
        self._cols.extend(self.columns(word))
        self._ptr.append(len(self._cols))
        self._id[word] = len(self._id)
        return self._id[word]
