"""The fast family's n-gram counter must count exactly what scikit-learn counts."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from cxnlp.data import load_records
from cxnlp.models.fast import TOKEN_PATTERN, NgramCounter


def _reference(train: list[str], word=(1, 2), char=(2, 5)):
    w = CountVectorizer(analyzer="word", ngram_range=word, token_pattern=TOKEN_PATTERN, min_df=2).fit(train)
    c = CountVectorizer(analyzer="char_wb", ngram_range=char, min_df=2).fit(train)
    return w, c


def test_counts_equal_sklearn_count_vectorizer_on_real_comments() -> None:
    recs = load_records()
    train = [r["text"] for r in recs["train"][:800]]
    other = [r["text"] for r in recs["dev"]] + ["", "   ", "Ünïcode  ÀB\tx\n\ny", "a", "don't  DON'T dont"]
    for word in [(1, 2), (1, 3)]:
        w, c = _reference(train, word=word)
        counter = NgramCounter(w.vocabulary_, c.vocabulary_, word, (2, 5))
        expected = sp.hstack([w.transform(other), c.transform(other)]).tocsr()
        # twice: the second pass reads the word cache
        for _ in range(2):
            got = counter.counts(other)
            assert got.shape == expected.shape
            assert abs(got - expected).sum() == 0


def test_a_document_given_as_segments_counts_as_their_sum() -> None:
    train = [r["text"] for r in load_records()["train"][:300]]
    w, c = _reference(train)
    counter = NgramCounter(w.vocabulary_, c.vocabulary_, (1, 2), (2, 5))
    parts = ("The receptionist was rude.", "Room was fine", "The receptionist was rude.")
    got = counter.item_counts([parts, "Room was fine", parts[0]])
    single = counter.counts(list(parts))
    np.testing.assert_array_equal(got[0].toarray(), single.sum(axis=0))
    np.testing.assert_array_equal(got[1].toarray(), single[1].toarray())
    np.testing.assert_array_equal(got[2].toarray(), single[0].toarray())


def test_char_wb_ngrams_equal_sklearn_analyzer() -> None:
    from cxnlp.models.fast import char_wb_ngrams

    ref = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False).build_analyzer()
    for text in ["a", "ab", "abc", "abcd", "Staff  were\tvery\nfriendly!!", "", "  x  ", "I'm ok-ish"]:
        assert char_wb_ngrams(text, 2, 5) == ref(text), text
