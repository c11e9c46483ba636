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
  time, and even spaCy's tokenizer alone was a third of the cost of tagging;
  :meth:`Segmenter.sentences` gives the sentencizer's spans while tokenizing
  only the few whitespace-delimited words next to sentence-final punctuation,
  each cached (equality with the sentencizer is tested);
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
from itertools import pairwise
from typing import NamedTuple

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
from spacy.attrs import IDX, IS_PUNCT, LENGTH, ORTH  # noqa: E402
from spacy.pipeline import Sentencizer  # noqa: E402
from spacy.tokenizer import Tokenizer  # noqa: E402

# Capitalised words that start sentences but are not names.  "I" is excluded
# because it is capitalised mid-sentence too.
_CAP = re.compile(r"(?<=[a-z0-9,)])\s+(?=[A-Z][a-z]+\b(?!\s+[A-Z][a-z]))")
_LINES = re.compile(r"[^\n]+")
_NOT_SENT_START = {"I", "I'm", "I've", "I'd", "I'll"}
_FINAL = frozenset(Sentencizer.default_punct_chars)
# Finds the characters of _FINAL.  A class listing the astral (non-BMP) members
# makes `re` test each character against a long list (15 times slower), so the
# class holds the BMP members and the whole astral range; astral hits (emoji…)
# are then checked against _FINAL.
_FINAL_OR_ASTRAL = re.compile(
    "[" + re.escape("".join(sorted(c for c in _FINAL if ord(c) < 0x10000))) + "\U00010000-\U0010ffff]"
)
# `\s` is exactly str.isspace, which is what spaCy's tokenizer splits on (checked
# over all code points when this was written).
_SPACES = re.compile(r"\s*")
_NONSPACES = re.compile(r"\S*")
# Whitespace-delimited words whose tokens are cached (as _WordInfo); the cache is
# emptied when full so memory stays flat on endless streams of new words.  Longer
# words (URLs, base64…) are rare and are not cached.
CACHE_WORDS = 50_000
CACHE_WORD_CHARS = 100


class _WordInfo(NamedTuple):
    """What :meth:`Segmenter.sentences` needs of one whitespace-delimited word's tokens."""

    first: tuple[int, int] | None  # first candidate token: (start, end of the token before, -1 if none)
    first_after_final: bool  # a sentence-final token comes before ``first`` in the word
    inner: tuple[tuple[int, int], ...]  # later candidates right after a final token, as ``first``
    final_at_end: bool  # a final token after the last candidate (or anywhere, without one)
    # For the special-case step (see Segmenter._context_free): the tokens the word could
    # begin (end) with before that step, kept if they can follow (precede) a token in a
    # pattern; and whether a pattern matched inside the word.  Usually (), (), False.
    heads: tuple[str, ...]
    tails: tuple[str, ...]
    exposed: bool


class _Patterns:
    """Multi-token special-case patterns of a spaCy tokenizer.

    ``Tokenizer.add_special_case`` gives the PhraseMatcher each rule as the tokens that the
    affix rules alone make of it; a tokenizer with the same affix rules and no special cases
    makes the same.  All rules are kept (spaCy keeps only those its affix rules touch), so the
    tables are a superset, which is safe for :meth:`Segmenter._context_free`.
    """

    def __init__(self, tok: Tokenizer) -> None:
        bare = Tokenizer(
            tok.vocab,
            rules={},
            prefix_search=tok.prefix_search,
            suffix_search=tok.suffix_search,
            infix_finditer=tok.infix_finditer,
            token_match=tok.token_match,
            url_match=tok.url_match,
        )
        self.after: dict[str, list[str]] = {}  # token -> tokens that follow it in a pattern
        self.before: dict[str, list[str]] = {}  # token -> tokens that precede it in a pattern
        # first (last) token of a rule's own tokens -> (the rule's own tokens, its pattern)
        self.by_first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        self.by_last: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        self.own_by_first: dict[str, list[tuple[str, ...]]] = {}  # first token -> a rule's own tokens
        for rule, substrings in sorted(tok.rules.items()):
            pattern = tuple(t.text for t in bare(rule))
            if len(pattern) < 2:
                continue
            for a, b in pairwise(pattern):
                self.after.setdefault(a, []).append(b)
                self.before.setdefault(b, []).append(a)
            own = tuple(sub[ORTH] for sub in substrings)
            self.by_first.setdefault(own[0], []).append((own, pattern))
            self.by_last.setdefault(own[-1], []).append((own, pattern))
            self.own_by_first.setdefault(own[0], []).append(own)


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
        self._words: dict[str, _WordInfo] = {}  # cache of _word_info
        self._infos: dict[_WordInfo, _WordInfo] = {}  # one copy of each (most words share a few)

    @cached_property
    def nlp(self) -> spacy.language.Language:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.max_length = max(nlp.max_length, self.window * 2)
        return nlp

    def __getstate__(self) -> dict:
        # The spaCy pipeline is rebuilt lazily in each process, the caches too.
        state = dict(self.__dict__)
        state.pop("nlp", None)
        state.pop("_patterns", None)
        state["_words"], state["_infos"] = {}, {}
        return state

    def sentences(self, text: str) -> list[tuple[int, int]]:
        """Sentence character spans, as ``spacy.blank("en")`` + ``sentencizer`` gives them.

        The sentencizer's rule: after a token in its punctuation characters,
        the next token that is not punctuation starts a sentence.  That is,
        a candidate (non-punctuation) token starts a sentence when a
        sentence-final token lies between it and the previous candidate.

        The spans depend only on the tokens around sentence-final tokens, and
        spaCy tokenizes each whitespace-delimited word on its own, so only
        those words are tokenized (see :meth:`_sentences_by_words`); in the
        rare text where that could differ from tokenizing the whole text, the
        whole text is tokenized (:meth:`_sentences_spacy`).
        """
        spans = self._sentences_by_words(text)
        return self._sentences_spacy(text) if spans is None else spans

    def _sentences_spacy(self, text: str) -> list[tuple[int, int]]:
        """:meth:`sentences` by tokenizing the whole text (the sentencizer's rule on numpy arrays)."""
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

    # How spaCy's tokenizer (spacy/tokenizer.pyx, ``_tokenize_affixes``) treats
    # whitespace: the text is cut into alternating runs of non-space characters
    # ("words") and whitespace (``str.isspace``).  Each word is tokenized on its
    # own by prefix/suffix/infix rules and special cases, cached by its string.
    # A single " " after a word becomes that word's trailing whitespace; any
    # other whitespace run (after the first " " if it starts with one, or at the
    # start of the text) becomes a whitespace token, which is never punctuation
    # and so is a candidate sentence start.  Then one step sees across words
    # (``_apply_special_cases``): special cases that the affix rules split into
    # several tokens (":)" -> ":", ")") are found by a PhraseMatcher over the whole
    # token sequence and the longest matches win.  A match across the " " between
    # two words replaces nothing (its text, with the space, is no rule), but it
    # can win over a match inside a word, which is then left split: in
    # ".' 'em", "' '" beats "'em".  :meth:`_context_free` detects the possibility
    # and the text is then tokenized whole.

    def _sentences_by_words(self, text: str) -> list[tuple[int, int]] | None:
        """:meth:`sentences` from the words that hold or follow a sentence-final character; ``None``
        where a word's tokens could depend on its neighbours."""
        n = len(text)
        if n == 0:
            return []
        # The first token starts at 0 (leading whitespace is a token).  The last
        # ends at the end of the text unless the text ends in a word and one " ".
        core = len(text.rstrip())
        last_end = core if core and n == core + 1 and text[core] == " " else n
        starts, ends = [0], []  # sentence starts and ends: ends[i] is the end of sentence i
        pending = False  # a sentence-final token was seen and no candidate since
        done = 0  # end of the last word looked at
        rev = text[::-1]  # word starts are found by matching \S* backwards
        for m in _FINAL_OR_ASTRAL.finditer(text):
            p = m.start()
            if p < done or text[p] not in _FINAL:
                continue
            start = n - _NONSPACES.match(rev, n - p).end()
            if pending:
                pending = self._next_candidate(text, rev, done, start, starts, ends)
            if pending is not None:
                done = _NONSPACES.match(text, p).end()
                pending = self._word(text, rev, start, done, pending, starts, ends)
            if pending is None:
                return None
        if pending and self._next_candidate(text, rev, done, n, starts, ends) is None:
            return None
        ends.append(last_end)
        return list(zip(starts, ends, strict=True))

    def _next_candidate(self, text: str, rev: str, pos: int, limit: int, starts: list, ends: list) -> bool | None:
        """Look for the first candidate token in ``text[pos:limit]`` (``pos`` is the end of a word,
        ``limit`` the start of a word or the end of the text) and record it as a sentence start.
        Returns whether a final token is still pending (``None``: see :meth:`_word`)."""
        while pos < limit:
            gap = _SPACES.match(text, pos).end()
            if gap > pos:
                if text[pos] != " ":  # whitespace token
                    starts.append(pos)
                    ends.append(pos)
                    return False
                if gap > pos + 1:  # " " of the word before, then a whitespace token
                    starts.append(pos + 1)
                    ends.append(pos)
                    return False
                pos = gap
                if pos >= limit:
                    break
            end = _NONSPACES.match(text, pos).end()
            pending = self._word(text, rev, pos, end, True, starts, ends)
            if not pending:
                return pending
            pos = end
        return True

    def _word(self, text: str, rev: str, start: int, end: int, pending: bool, starts: list, ends: list) -> bool | None:
        """Apply the sentencizer's rule to the tokens of the word ``text[start:end]``, given whether a
        final token is pending before it; return whether one is pending after it, ``None`` if the
        word's tokens could differ in context."""
        info = self._word_info(text[start:end])
        if info.exposed and not self._context_free(text, rev, start, end, info):
            return None
        if info.first is None:
            return pending or info.final_at_end
        if pending or info.first_after_final:
            # If first is the word's first token, its predecessor ends at start - 1:
            # a pending final means the gap before was a single " ".
            starts.append(start + info.first[0])
            ends.append(start + info.first[1])
        for s, e in info.inner:
            starts.append(start + s)
            ends.append(start + e)
        return info.final_at_end

    def _word_info(self, word: str) -> _WordInfo:
        """The sentencizer's rule on one word's tokens, given nothing about what comes before it."""
        info = self._words.get(word)
        if info is not None:
            return info
        first, first_after_final, inner = None, False, []
        final, prev_end = False, -1
        doc = self.nlp.tokenizer(word)
        for tok in doc:
            s = tok.idx
            if len(tok) == 1 and word[s] in _FINAL:
                final = True
            elif not tok.is_punct:
                if first is None:
                    first, first_after_final = (s, prev_end), final
                elif final:
                    inner.append((s, prev_end))
                final = False
            prev_end = s + len(tok)
        pat = self._patterns
        orths = [t.text for t in doc]
        # The special-case step (see above _sentences_by_words) can change the word's tokens in
        # context only if a pattern matched inside it; alone, such a match always wins and leaves
        # that rule's own tokens, so look for any rule's own tokens.  Before that step the word
        # began (ended) with its first (last) token, or, if a rule's own tokens begin (end) it,
        # with the first (last) token of that rule's pattern.
        exposed = any(
            tuple(orths[i : i + len(own)]) == own for i, o in enumerate(orths) for own in pat.own_by_first.get(o, ())
        )
        heads = {orths[0]} | {p[0] for own, p in pat.by_first.get(orths[0], ()) if tuple(orths[: len(own)]) == own}
        tails = {orths[-1]} | {p[-1] for own, p in pat.by_last.get(orths[-1], ()) if tuple(orths[-len(own) :]) == own}
        info = _WordInfo(
            first,
            first_after_final,
            tuple(inner),
            final,
            tuple(h for h in heads if h in pat.before),
            tuple(t for t in tails if t in pat.after),
            exposed,
        )
        if len(word) <= CACHE_WORD_CHARS:
            if len(self._words) >= CACHE_WORDS:
                self._words.clear()
                self._infos.clear()
            info = self._words[word] = self._infos.setdefault(info, info)
        return info

    def _context_free(self, text: str, rev: str, start: int, end: int, info: _WordInfo) -> bool:
        """False if a multi-token special-case pattern could match across the single " " before or
        after the word ``text[start:end]`` (then the word's tokens in context might differ, if a
        pattern also matches inside it): that needs two consecutive tokens of a pattern on either
        side of the " "."""
        pat, n = self._patterns, len(text)
        heads, tails = info.heads, info.tails
        if heads and start >= 2 and text[start - 1] == " " and not text[start - 2].isspace():
            for b in heads:
                for a in pat.before[b]:
                    if text.endswith(a, 0, start - 1):
                        left = n - _NONSPACES.match(rev, n - start + 1).end()
                        if a in self._word_info(text[left : start - 1]).tails:
                            return False
        if tails and end + 1 < n and text[end] == " " and not text[end + 1].isspace():
            for a in tails:
                for b in pat.after[a]:
                    if text.startswith(b, end + 1):
                        right = _NONSPACES.match(text, end + 1).end()
                        if b in self._word_info(text[end + 1 : right]).heads:
                            return False
        return True

    @cached_property
    def _patterns(self) -> _Patterns:
        """The special cases that the tokenizer's PhraseMatcher looks for (see above)."""
        return _Patterns(self.nlp.tokenizer)

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


# ------------------------------------------------------------------ negation
# Words that open a negation scope, in lower case; "didnt" and friends because
# survey verbatims drop the apostrophe, "n’t" because phones type a curly one.
_NEGATORS = (
    r"not|no|never|nobody|nothing|none|nor|neither|nowhere|cannot|without|hardly|barely|"
    r"\w+n['’]t|dont|didnt|doesnt|wasnt|werent|isnt|arent|cant|couldnt|wouldnt|shouldnt|wont|"
    r"hasnt|havent|hadnt|aint"
)
# Words that end a scope (a contrast turns the sentence round) and the most words a scope holds: the
# hotel reviews have no punctuation to end a scope, so without a cap "not" would reach the next review.
_SCOPE_END = r"but|however|though|although|yet|except|and|so|because"
NEGATION_SCOPE = 5
_SCOPE = re.compile(
    rf"\b(?:{_NEGATORS})\b((?:[\s\"'“”‘’*-]+(?!(?:{_SCOPE_END}|{_NEGATORS})\b)\w[\w']*){{1,{NEGATION_SCOPE}}})"
)
_SCOPED_WORD = re.compile(r"\w[\w']*")


def mark_negation(text: str) -> str:
    """Prefix ``neg_`` to the words a negation governs: "not rude at all." -> "not neg_rude neg_at neg_all."

    For bag-of-n-gram features, where "rude" in "the staff were not rude at all" would otherwise count as
    the same word as in "the staff were rude" (Das & Chen 2001; Pang et al. 2002).  A scope runs from a
    negator over at most ``NEGATION_SCOPE`` words and stops at punctuation, at a contrast or conjunction
    ("not cheap but the staff were rude") and at the next negator (which opens its own scope).  Expects
    lower-case text; offsets are not kept (the result only feeds n-gram counts).
    """
    return _SCOPE.sub(_mark_scope, text)


def _mark_scope(m: re.Match) -> str:
    return _scope_head(m) + _SCOPED_WORD.sub(r"neg_\g<0>", m.group(1))


def drop_negated(text: str) -> str:
    """``text`` without the words a negation governs: "not rude at all." -> "not." (lower-case text, as above).

    For the features that cannot mark a word as negated (character n-grams, static token vectors): they
    then read "not rude" as "not", rather than as "rude"; mark_negation's word features carry the rest.
    """
    return _SCOPE.sub(_scope_head, text)


def _scope_head(m: re.Match) -> str:
    """The negator that opens the scope, as written."""
    return m.group(0)[: m.start(1) - m.start(0)]
