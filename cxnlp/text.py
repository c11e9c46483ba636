"""Text processing: split comments into sentence-like segments with offsets.

Every tag points back to the segment that carries it, so segments keep
character offsets into the original text.  spaCy's rule-based sentencizer
(``spacy.blank("en")``, no model download) handles punctuated text.  Two kinds
of input need more:

* unpunctuated text (the Booking.com reviews lost their punctuation): a
  capitalised word after a lower-case word usually starts a new sentence
  ("...staff very friendly Room was small"); a run of capitalised words is
  left alone because it is usually a name ("Notre Dame Cathedral");
* very long text (CFPB narratives, 100,000-character exports): segments are
  capped at ``max_chars`` and cut at whitespace, and the document is fed to
  spaCy in windows so memory stays bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import spacy

# Capitalised words that start sentences but are not names.  "I" is excluded
# because it is capitalised mid-sentence too.
_CAP = re.compile(r"(?<=[a-z0-9,)])\s+(?=[A-Z][a-z]+\b(?!\s+[A-Z][a-z]))")
_LINES = re.compile(r"[^\n]+")
_NOT_SENT_START = {"I", "I'm", "I've", "I'd", "I'll"}


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
        if re.search(r"[.!?;]", chunk):
            spans = [(s.start_char, s.end_char) for s in self.nlp(chunk).sents]
        else:
            spans = [(0, len(chunk))]
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
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s < self.min_chars:
            return None
        return Segment(s, e, text[s:e])


def _cut(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Split ``text[start:end]`` into pieces of at most ``limit`` characters, at whitespace where possible."""
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        yield start, cut
        start = cut
    yield start, end
