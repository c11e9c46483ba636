"""Apply labeling functions to comments: one spaCy pass, all LFs, a vote matrix with evidence.

Comments are split into segments by :class:`cxnlp.text.Segmenter`; the
segments go through ``spacy.blank("en")`` (tokenizer only, ``nlp.pipe`` in
batches), one ``PhraseMatcher`` (on token norms) and one ``Matcher`` holding
every LF's phrases and patterns, and each LF is asked to vote only on the
clauses where one of its cues matched.

The result, :class:`Votes`, is a matrix with one row per comment and one
column per *source*, an (LF, key) pair: -1 abstain, 0 absent, 1 present
(present wins over absent when an LF votes both in one comment), plus the
evidence spans (character offsets) of every present vote.  Columns of *gate* LFs
(:attr:`Votes.gates`, see :mod:`cxnlp.weak.lf`) are kept in the matrix but are
not voters: :meth:`Votes.voters` leaves them out and :meth:`Votes.gated` says
where they rule a key out.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segmenter
from cxnlp.weak.lf import Clause, LFSet, build_lfs, clause_bounds, negation_scope

ABSTAIN, ABSENT, PRESENT = -1, 0, 1

# Booking.com reviews lost their apostrophes ("didn t", "it s"): restore them without moving any offset.
_NT = re.compile(r"(?<=[a-z])n t\b", re.I)
_CLITIC = re.compile(r"\b(i|you|we|they|he|she|it|that|there|what|let|who) (m|s|re|ve|ll|d)\b", re.I)


def restore_apostrophes(text: str) -> str:
    """``"didn t"`` -> ``"didn't"``, ``"it s"`` -> ``"it's"``: same length, so offsets still hold."""
    if " t" in text:
        text = _NT.sub("n't", text)
    return _CLITIC.sub(lambda m: f"{m.group(1)}'{m.group(2)}", text)


@dataclass
class Votes:
    """LF votes on a list of comments."""

    sources: list[tuple[str, str]]  # column j: (LF name, key)
    L: np.ndarray  # (n_comments, n_sources) int8: -1 abstain, 0 absent, 1 present
    evidence: list[dict[int, list[tuple[int, int]]]] = field(default_factory=list)  # per comment: column -> spans
    gates: frozenset[str] = frozenset()  # names of the gate LFs among the sources

    def __len__(self) -> int:
        return self.L.shape[0]

    def columns(self, key: str) -> list[int]:
        """All columns voting on ``key``, gates included."""
        return [j for j, (_, k) in enumerate(self.sources) if k == key]

    def voters(self, key: str) -> list[int]:
        """The columns voting on ``key`` that are evidence: gates left out."""
        return [j for j, (n, k) in enumerate(self.sources) if k == key and n not in self.gates]

    def gated(self, key: str) -> np.ndarray:
        """(n,) bool: comments where a gate rules ``key`` out (a gate column votes absent)."""
        cols = [j for j, (n, k) in enumerate(self.sources) if k == key and n in self.gates]
        if not cols:
            return np.zeros(len(self), dtype=bool)
        return (self.L[:, cols] == ABSENT).any(axis=1)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for _, k in self.sources))

    def subset(self, rows: Sequence[int]) -> Votes:
        rows = list(rows)
        return Votes(self.sources, self.L[rows], [self.evidence[i] for i in rows], self.gates)

    @staticmethod
    def concat(parts: Sequence[Votes]) -> Votes:
        if not parts:
            raise ValueError("nothing to concatenate")
        sources = parts[0].sources
        if any(p.sources != sources or p.gates != parts[0].gates for p in parts):
            raise ValueError("votes from different LF sets")
        return Votes(
            sources, np.concatenate([p.L for p in parts]), [e for p in parts for e in p.evidence], parts[0].gates
        )


class WeakLabeler:
    """Runs a set of LFs over comments.

    >>> wl = WeakLabeler()
    >>> votes = wl.apply(["The receptionist was rude.", "Friendly but clueless."])
    """

    def __init__(
        self,
        lfs: LFSet | None = None,
        taxonomy: Taxonomy | None = None,
        segmenter: Segmenter | None = None,
        batch_size: int = 512,
    ) -> None:
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self.lfset = lfs or build_lfs(taxonomy)
        self.taxonomy = self.lfset.taxonomy
        self.lfs = self.lfset.lfs
        self.sources = self.lfset.sources()
        self._col = {s: j for j, s in enumerate(self.sources)}
        self.segmenter = segmenter or Segmenter()
        self.batch_size = batch_size
        self.nlp = spacy.blank("en")
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="NORM")
        self.matcher = Matcher(self.nlp.vocab)
        self._lf_of: dict[int, int] = {}
        self._comment_lfs = [i for i, lf in enumerate(self.lfs) if lf.scope == "comment"]
        for i, lf in enumerate(self.lfs):
            if lf.scope == "comment":
                continue
            label = f"lf{i}"
            self._lf_of[self.nlp.vocab.strings.add(label)] = i
            if lf.phrases:
                self.phrases.add(label, [self.nlp.make_doc(p) for p in lf.phrases])
            if lf.patterns:
                self.matcher.add(label, [list(p) for p in lf.patterns])
        self._always = [i for i, lf in enumerate(self.lfs) if lf.always and lf.scope != "comment"]

    # ----------------------------------------------------------------- apply
    def apply(self, texts: Iterable[str], progress: Callable[[int], None] | None = None) -> Votes:
        """Votes for every comment (``None``/NaN/empty text: all abstain)."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        L = np.full((len(texts), len(self.sources)), ABSTAIN, dtype=np.int8)
        evidence: list[dict[int, list[tuple[int, int]]]] = [{} for _ in texts]
        step = max(1, self.batch_size)
        for lo in range(0, len(texts), step):
            chunk = range(lo, min(len(texts), lo + step))
            segs = []  # (comment index, segment offset, segment text)
            for i in chunk:
                fixed = restore_apostrophes(texts[i])
                segs.extend((i, s.start, s.text) for s in self.segmenter.split(fixed))
            docs = self.nlp.pipe((t for _, _, t in segs), batch_size=1000)
            clauses: dict[int, list[Clause]] = {i: [] for i in chunk} if self._comment_lfs else {}
            for (i, offset, _), doc in zip(segs, docs, strict=True):
                for lf_i, key, value, span in self._votes(doc, offset, clauses.get(i)):
                    self._record(L, evidence, i, lf_i, key, value, span)
            for i in clauses:
                for lf_i in self._comment_lfs:
                    for v in self.lfs[lf_i].vote_comment(texts[i], clauses[i]):
                        self._record(L, evidence, i, lf_i, v.key, v.value, (v.start, v.end))
            if progress:
                progress(len(chunk))
        return Votes(list(self.sources), L, evidence, frozenset(lf.name for lf in self.lfs if lf.gate))

    def _record(self, L, evidence, i: int, lf_i: int, key: str, value: int, span: tuple[int, int]) -> None:
        j = self._col.get((self.lfs[lf_i].name, key))
        if j is None:
            return
        if value == PRESENT and self.lfs[lf_i].gate:
            return  # a gate only rules keys out
        if value == PRESENT:
            L[i, j] = PRESENT
            spans = evidence[i].setdefault(j, [])
            if span not in spans:
                spans.append(span)
        elif L[i, j] == ABSTAIN:
            L[i, j] = ABSENT

    def _votes(self, doc, offset: int, collect: list[Clause] | None = None):
        """(LF index, key, value, (start, end)) for one segment, deduplicated per key and evidence."""
        if not len(doc):
            return
        norms = [t.norm_ for t in doc]
        if collect is not None:
            neg, bnds = negation_scope(norms), clause_bounds(norms)
            collect.extend(Clause(doc, s, e, offset, neg, norms) for s, e in bnds)
        matches: dict[int, list[tuple[int, int]]] = {}
        for mid, s, e in self.phrases(doc):
            matches.setdefault(self._lf_of[mid], []).append((s, e))
        if len(self.matcher):
            for mid, s, e in self.matcher(doc):
                matches.setdefault(self._lf_of[mid], []).append((s, e))
        if not matches and not self._always:
            return
        negated = negation_scope(norms)
        bounds = clause_bounds(norms)
        starts = [b[0] for b in bounds]

        def clause_at(tok: int) -> Clause:
            s, e = bounds[max(0, bisect_right(starts, tok) - 1)]
            return Clause(doc, s, e, offset, negated, norms)

        claimed: dict[str, list[tuple[int, int]]] = {}
        for lf_i in sorted(set(matches) | set(self._always)):
            lf = self.lfs[lf_i]
            if lf_i in matches:
                # Longest matches first; a match inside another match of the same LF adds nothing.
                spans = sorted(set(matches[lf_i]), key=lambda m: (m[0], -(m[1] - m[0])))
                kept: list[tuple[int, int]] = []
                for s, e in spans:
                    if not any(ks <= s and e <= ke for ks, ke in kept):
                        kept.append((s, e))
                for s, e in kept:
                    for v in lf.vote(clause_at(s), [(s, e)]):
                        taken = claimed.setdefault(v.key, [])
                        if any(s < te and ts < e for ts, te in taken):
                            continue  # a higher-priority LF already voted this key on these words
                        taken.append((s, e))
                        yield lf_i, v.key, v.value, (v.start, v.end)
            else:
                for bs, be in bounds:
                    for v in lf.vote(Clause(doc, bs, be, offset, negated, norms), []):
                        yield lf_i, v.key, v.value, (v.start, v.end)
