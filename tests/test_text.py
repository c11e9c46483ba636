from __future__ import annotations

import pytest

from cxnlp.text import Segmenter, mark_negation


def test_punctuated_sentences_keep_offsets() -> None:
    text = "The clerk was rude.  She ignored us! Otherwise fine."
    segs = Segmenter().split(text)
    assert [s.text for s in segs] == ["The clerk was rude.", "She ignored us!", "Otherwise fine."]
    assert all(text[s.start : s.end] == s.text for s in segs)


def test_unpunctuated_hotel_review_is_split_at_capitals_not_names() -> None:
    text = (
        "Walking distance from Notre Dame Cathedral and the centre Staff were very friendly "
        "Room was small\nReception was rude when we asked for towels"
    )
    segs = [s.text for s in Segmenter().split(text)]
    assert segs == [
        "Walking distance from Notre Dame Cathedral and the centre",
        "Staff were very friendly",
        "Room was small",
        "Reception was rude when we asked for towels",
    ]


def test_very_long_text_is_windowed_with_correct_offsets() -> None:
    text = ("word " * 30_000) + "The agent hung up on me. " * 50
    seg = Segmenter(max_chars=300)
    segs = seg.split(text)
    assert max(s.end - s.start for s in segs) <= 300
    assert all(text[s.start : s.end] == s.text for s in segs)
    assert sum(s.text == "The agent hung up on me." for s in segs) == 50


def test_empty_and_whitespace() -> None:
    assert Segmenter().split("") == [] and Segmenter().split("  \n \n") == []


def test_sentence_rule_matches_spacy_sentencizer_on_real_text() -> None:
    # Segmenter.sentences re-implements spaCy's sentencizer on token arrays for
    # speed; it must give exactly the spans the spaCy component gives.
    from cxnlp.data import load_records

    seg = Segmenter()
    texts = [r["text"] for r in load_records()["dev"]]
    texts += ['"Really?" she said. Yes!! ok', "U.S. bank. Fine", "a . b", "!", "...", "wait… what? no", "。ok"]
    for text in texts:
        expected = [(s.start_char, s.end_char) for s in seg.nlp(text).sents]
        assert seg.sentences(text) == expected, text[:80]


# Strings that stress the tokenizer's whitespace and special-case handling, which
# Segmenter.sentences relies on to tokenize only the words around sentence ends.
ADVERSARIAL = [
    "",
    " ",
    "   ",
    "\t",
    " \t ",
    "Hi.  There",
    "Hi.\tThere",
    "Hi. \tThere",
    "Hi.\u00a0There",
    "Hi. \u00a0 There",
    "Hi.\u3000There",
    "a .\x1d b",
    "end.",
    "end. ",
    "end.  ",
    "end. \t",
    " lead. x",
    "  lead. x",
    "\tlead. x",
    ".",
    "...",
    "!!!",
    "?!",
    ". . .",
    "..hello",
    "hello ... world",
    "a . b",
    "a .b",
    'He said "stop." Then left.',
    "He said (stop.) Then left.",
    'Done." "Next',
    "The end.\u201d  Next",
    "end.) (next",
    "e.g. this i.e. that",
    "The U.S. is big.",
    "It was 3.5 stars. ok",
    "$7600.00 paid.",
    "See http://example.com/a.b?c=d. Next",
    "mail me at a.b@c.com. ok",
    "Mr. Smith met Dr. Who at 10 a.m. sharp.",
    "Great \U0001f600. Bad \U0001f621! ok",
    "ok\u3002next",
    "ok \u3002 next",
    "wait\u2026 what? no",
    "Is it\u203c yes",
    "x \u061f y",
    "\U00011047 x \U00011047y",
    "\u00bfQu\u00e9? S\u00ed.",
    "1. first 2. second 3. third",
    "rude.She left!Then",
    "a!b?c.d",
    "semi; colon; only",
    "hello : ) there. x",
    "ok :) . bye",
    "Upgrade , Inc . I agreed",
    # A special case matched across words wins over one inside a word, so these
    # words' tokens depend on their neighbours: the whole text is tokenized.
    ".' 'em\U0001f600a|  $}e.g.'em'sa.m.",
    "x.(._. )spaces. y",
    ". .( :0_. y",
    "a \u00b0 f.He's_ .",
    "Hi. " * 25_000,
    "x." * 50_000,
]


def test_sentences_equal_spacy_sentencizer_on_annotated_and_adversarial_text() -> None:
    # Segmenter.sentences tokenizes only the words around sentence-final characters
    # (falling back to the whole text where a word's tokens could depend on its
    # neighbours); the spans must be exactly those of spaCy's own pipeline.
    from cxnlp.data import load_records

    seg = Segmenter()
    records = load_records()
    texts = [r["text"] for split in ("train", "test", "ood_test") for r in records[split][:150]]
    texts += ADVERSARIAL
    whole = 0
    for text in texts:
        expected = [(s.start_char, s.end_char) for s in seg.nlp(text).sents]
        by_words = seg._sentences_by_words(text)
        whole += by_words is None
        assert by_words in (None, expected), text[:80]
        assert seg.sentences(text) == expected, text[:80]
    # The fast path is the rule, not the exception.
    assert whole <= 10, whole


def test_words_whose_tokens_depend_on_neighbours_are_detected() -> None:
    seg = Segmenter()
    for text in ADVERSARIAL[-6:-2]:
        assert seg._sentences_by_words(text) is None, text
    # ... and not ordinary text, even where a special case is near.
    assert seg._sentences_by_words("Upgrade , Inc . I agreed. Mr. Smith :) ok") is not None


def test_segmenter_pickles_without_its_caches() -> None:
    import pickle

    seg = Segmenter()
    text = "The clerk was rude.  She ignored us! Otherwise fine."
    before = seg.split(text)
    assert seg._words
    copy = pickle.loads(pickle.dumps(seg))
    assert copy._words == {} and "nlp" not in copy.__dict__
    assert copy.split(text) == before


@pytest.mark.parametrize(
    "text, marked",
    [
        ("the staff were not rude at all.", "the staff were not neg_rude neg_at neg_all."),
        # a contrast ends the scope: the rudeness is affirmed
        ("the food wasn't great but the staff were rude", "the food wasn't neg_great but the staff were rude"),
        # punctuation ends it, and the cap keeps it from running through unpunctuated reviews
        ("he wasn't condescending, he explained it", "he wasn't neg_condescending, he explained it"),
        ("never one two three four five six", "never neg_one neg_two neg_three neg_four neg_five six"),
        # apostrophe-less and curly forms of survey verbatims and phones
        ("didnt know the plan", "didnt neg_know neg_the neg_plan"),
        ("she didn’t read a script", "she didn’t neg_read neg_a neg_script"),
        # a second negator opens its own scope rather than being marked
        ("nobody was not helpful", "nobody neg_was not neg_helpful"),
        ("the staff were lovely", "the staff were lovely"),
    ],
)
def test_mark_negation(text: str, marked: str) -> None:
    assert mark_negation(text) == marked
