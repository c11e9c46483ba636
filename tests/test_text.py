from __future__ import annotations

from cxnlp.text import Segmenter


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
