"""The fast family's n-gram counter must count exactly what scikit-learn counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
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


@pytest.mark.parametrize("mode", ["words", "drop"])
def test_negation_modes_still_count_what_sklearn_counts(mode: str) -> None:
    """Word n-grams are sklearn's over mark_negation's text; char n-grams over the plain text ("words") or
    over drop_negated's ("drop")."""
    from cxnlp.models.fast import _dropped_preprocessor, _negation_preprocessor

    recs = load_records()
    train = [r["text"] for r in recs["train"][:800]]
    other = [r["text"] for r in recs["dev"]] + ["The staff were not rude at all.", "NOT RUDE", "didnt know", ""]
    w = CountVectorizer(
        analyzer="word", ngram_range=(1, 2), token_pattern=TOKEN_PATTERN, min_df=2, preprocessor=_negation_preprocessor
    ).fit(train)
    char_pre = _dropped_preprocessor if mode == "drop" else None
    c = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, preprocessor=char_pre).fit(train)
    assert "neg_rude" in w.vocabulary_ and "rude" in w.vocabulary_  # both readings occur in real comments
    counter = NgramCounter(w.vocabulary_, c.vocabulary_, (1, 2), (2, 5), negation=mode)
    got = counter.counts(other)
    expected = sp.hstack([w.transform(other), c.transform(other)]).tocsr()
    assert abs(got - expected).sum() == 0
    row = got[len(other) - 4].toarray()[0]
    assert row[w.vocabulary_["neg_rude"]] == 1 and row[w.vocabulary_["rude"]] == 0
    # "rude" spelled out as characters only where the words are not dropped
    assert (row[len(w.vocabulary_) + c.vocabulary_["rud"]] > 0) == (mode == "words")


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


def test_counts_hold_each_column_once_per_row() -> None:
    """log1p(tf) needs summed counts: the sparse sums must leave no repeated column in a row."""
    train = [r["text"] for r in load_records()["train"][:300]]
    w, c = _reference(train)
    counter = NgramCounter(w.vocabulary_, c.vocabulary_, (1, 2), (2, 5))
    X = counter.counts(train + ["the the the the", "aaaa aaaa aaaa"])
    for i in range(X.shape[0]):
        row = X.indices[X.indptr[i] : X.indptr[i + 1]]
        assert len(row) == len(set(row.tolist())), i
    assert X[len(train)].sum() == w.transform(["the the the the"]).sum() + c.transform(["the the the the"]).sum()


def test_word_table_stays_bounded_and_counts_the_same_after_a_reset() -> None:
    from cxnlp.models.wordtable import WordTable

    table = WordTable(lambda word: [len(word) % 7, ord(word[0]) % 7], 7, max_words=5)
    texts = [f"w{i} w{i} x{i % 3} y" for i in range(40)]
    first = table.counts([t.split() for t in texts[:20]]).toarray()
    assert len(table) <= 5 + 4 * 20  # emptied before a batch once full
    again = table.counts([t.split() for t in texts[:20]]).toarray()
    table.counts([t.split() for t in texts[20:]])
    assert len(table) <= 5 + 4 * 20
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first.sum(axis=1), [8] * 20)


def test_static_token_counts_equal_the_tokenizer_on_real_text() -> None:
    from tokenizers import Tokenizer

    from cxnlp.models.encoder import PACKAGE, resolve_backbone
    from cxnlp.models.static import StaticVectors

    path, _ = resolve_backbone(PACKAGE)
    tok_json = (path / "tokenizer.json").read_text(encoding="utf-8")
    vocab_size = Tokenizer.from_str(tok_json).get_vocab_size()
    sv = StaticVectors(tok_json, np.zeros((vocab_size, 4), np.float32))
    recs = load_records()
    texts = [r["text"] for r in recs["dev"] + recs["test"]]
    texts += ["Ünïcode\u00a0café  naïve\tTAB\nline", "a\u2028b", "x\x0cy", "", "   "]
    got = sv.token_counts(texts)
    ref = Tokenizer.from_str(tok_json)
    ref.no_padding()  # the packaged tokenizer.json pads and truncates to 128 tokens
    ref.no_truncation()
    for i, enc in enumerate(ref.encode_batch(texts, add_special_tokens=False)):
        expected = np.bincount(enc.ids, minlength=vocab_size)
        np.testing.assert_array_equal(got[i].toarray().ravel(), expected, err_msg=texts[i][:60])


def test_decision_function_equals_features_times_coefficients() -> None:
    """Tagging rearranges the product (rows scaled after it, static vectors projected per word, hidden layer
    inputs as extra columns)."""
    from cxnlp.models.model import CXModel

    model = CXModel.load(Path(__file__).resolve().parents[1] / "models" / "cx-default")
    texts = [r["text"] for r in load_records()["dev"][:150]]
    segs = [s.text for t in texts for s in model.segmenter.split(t)]
    items = segs + [tuple(s.text for s in model.segmenter.split(t)) for t in texts]
    sc = model.scorer
    F = sc.features(items)
    expected = np.asarray(F @ sc.coef) + sc.intercept
    if sc.w1 is not None:  # the hidden layer, computed densely from the same features
        expected += np.maximum(np.asarray(sc._hidden_columns(F) @ sc.w1) + sc.b1, 0) @ sc.w2 + sc.b2
    got = sc.decision_function(items)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    # a row's logits do not depend on the rest of its batch
    np.testing.assert_array_equal(sc.decision_function(items[5:6]), got[5:6])


def test_an_unknown_negation_mode_is_refused() -> None:
    from cxnlp.models.fast import FastScorer

    with pytest.raises(ValueError, match="negation must be one of off, words, drop"):
        FastScorer(["coldness"], negation="maybe")
