"""Text processing: split comments into sentence-like segments with offsets.

Every tag points back to the segment that carries it, so segments keep
character offsets into the original text.  spaCy's rule-based sentencizer
(``spacy.blank("en")``, no model download) handles punctuated text.  Two kinds
of input need more:

* unpunctuated text (the Booking.com reviews lost their punctuation): a
  capitalised word after a lower-case word usually starts a new sentence
  ("...staff very friendly Room was small"); a run of capitalised words is
  left alone because it is usually a name ("Notre Dame Cathedral");
* speed: spaCy's ``Sentencizer`` walks the tokens one Python object at a
  time, which was most of the cost of tagging; :meth:`Segmenter.sentences`
  applies the same rule to the tokenizer's arrays with numpy (equality with
  the sentencizer is tested);
* very long text (CFPB narratives, 100,000-character exports): segments are
  capped at ``max_chars`` and cut at whitespace, and the document is fed to
  spaCy in windows so memory stays bounded.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np


def _import_spacy():
    """spaCy's thinc imports torch when it is installed (about 300 MB and 1.5 s per
    process) although a blank pipeline never uses it.  Processes that will not
    need thinc's torch layers (``cxnlp tag`` and its workers set
    ``CXNLP_SPACY_WITHOUT_TORCH=1``) hide torch while spaCy loads; torch itself
    stays importable afterwards."""
    hide = os.environ.get("CXNLP_SPACY_WITHOUT_TORCH") == "1" and not {"torch", "spacy"} & set(sys.modules)
    if hide:
        sys.modules["torch"] = None  # `import torch` raises ImportError inside thinc
    try:
        import spacy
    finally:
        if hide:
            del sys.modules["torch"]
    return spacy


spacy = _import_spacy()
from spacy.attrs import IDX, IS_PUNCT, LENGTH  # noqa: E402
from spacy.pipeline import Sentencizer  # noqa: E402

# Capitalised words that start sentences but are not names.  "I" is excluded
# because it is capitalised mid-sentence too.
_CAP = re.compile(r"(?<=[a-z0-9,)])\s+(?=[A-Z][a-z]+\b(?!\s+[A-Z][a-z]))")
_LINES = re.compile(r"[^\n]+")
_NOT_SENT_START = {"I", "I'm", "I've", "I'd", "I'll"}
_FINAL = frozenset(Sentencizer.default_punct_chars)


@dataclass(frozen=True)
class Segment:
    """A sentence or clause of a text: ``text[start:end]``."""

    start: int
    end: int
    text: str


class Segmenter:
    """Split text into segments no longer than ``max_chars``.

    >>> [s.text for s in Segmenter().split("Staff very friendly Room was small. Great bar!")]
    ['Staff very friendly', 'Room was small.', 'Great bar!']
    """

    def __init__(self, max_chars: int = 400, min_chars: int = 3, window: int = 20_000) -> None:
        self.max_chars = max_chars
        self.min_chars = min_chars
        self.window = window

    @cached_property
    def nlp(self) -> spacy.language.Language:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.max_length = max(nlp.max_length, self.window * 2)
        return nlp

    def __getstate__(self) -> dict:
        # The spaCy pipeline is rebuilt lazily in each process.
        state = dict(self.__dict__)
        state.pop("nlp", None)
        return state

    def sentences(self, text: str) -> list[tuple[int, int]]:
        """Sentence character spans, as ``spacy.blank("en")`` + ``sentencizer`` gives them.

        The sentencizer's rule: after a token in its punctuation characters,
        the next token that is not punctuation starts a sentence.  That is,
        a candidate (non-punctuation) token starts a sentence when a
        sentence-final token lies between it and the previous candidate.
        """
        doc = self.nlp.tokenizer(text)
        if len(doc) == 0:
            return []
        arr = doc.to_array([IS_PUNCT, IDX, LENGTH]).astype(np.int64)
        # Every sentence-final character is one character long: test only those tokens.
        single = np.flatnonzero(arr[:, 2] == 1)
        final = np.zeros(len(doc), dtype=bool)
        final[single] = [text[i] in _FINAL for i in arr[single, 1].tolist()]
        candidate = ~final & (arr[:, 0] == 0)
        seen = np.cumsum(final)
        cand = np.flatnonzero(candidate)
        before = np.concatenate(([0], seen[cand[:-1]])) if len(cand) else cand
        starts = cand[(seen[cand] - before) > 0]
        starts = np.concatenate(([0], starts[starts > 0]))
        ends = np.concatenate((starts[1:], [len(doc)])) - 1
        return list(zip(arr[starts, 1].tolist(), (arr[ends, 1] + arr[ends, 2]).tolist(), strict=True))

    def split(self, text: str) -> list[Segment]:
        return list(self.iter_segments(text))

    def iter_segments(self, text: str) -> Iterator[Segment]:
        for line in _LINES.finditer(text):
            for start, end in self._windows(line.start(), line.end(), text):
                yield from self._segment(text, start, end)

    # ------------------------------------------------------------ internals
    def _windows(self, start: int, end: int, text: str) -> Iterator[tuple[int, int]]:
        """Cut a very long line into windows spaCy can take."""
        return _cut(text, start, end, self.window)

    def _segment(self, text: str, start: int, end: int) -> Iterator[Segment]:
        chunk = text[start:end]
        if not chunk.strip():
            return
        spans = self.sentences(chunk) if re.search(r"[.!?;]", chunk) else [(0, len(chunk))]
        for s, e in spans:
            for cs, ce in self._split_caps(chunk, s, e):
                for ws, we in self._cap_length(chunk, cs, ce):
                    seg = self._trim(text, start + ws, start + we)
                    if seg is not None:
                        yield seg

    def _split_caps(self, chunk: str, s: int, e: int) -> Iterator[tuple[int, int]]:
        """Split unpunctuated stretches at a capitalised word after a lower-case one."""
        piece = chunk[s:e]
        if re.search(r"[.!?]", piece[:-1]):
            yield s, e
            return
        last = s
        for m in _CAP.finditer(piece):
            word = piece[m.end() :].split(" ", 1)[0]
            before = piece[: m.start()].rsplit(None, 1)[-1]
            # "...Notre Dame Cathedral": the word before is capitalised, so
            # this is the tail of a name, not a new sentence.
            if word in _NOT_SENT_START or not before[:1].islower():
                continue
            yield last, s + m.start()
            last = s + m.end()
        yield last, e

    def _cap_length(self, chunk: str, s: int, e: int) -> Iterator[tuple[int, int]]:
        return _cut(chunk, s, e, self.max_chars)

    def _trim(self, text: str, s: int, e: int) -> Segment | None:
        piece = text[s:e]
        core = piece.strip()
        if len(core) < self.min_chars:
            return None
        s += len(piece) - len(piece.lstrip())
        return Segment(s, s + len(core), core)


def _cut(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Split ``text[start:end]`` into pieces of at most ``limit`` characters, at whitespace where possible."""
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        yield start, cut
        start = cut
    yield start, end
