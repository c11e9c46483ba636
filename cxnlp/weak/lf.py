"""Labeling functions: the registry, the clause context they see, and cue-phrase LFs.

A labeling function (LF) looks at one *clause* of a comment at a time and
returns votes: ``Vote(key, value, start, end)`` where ``value`` is 1 (the key
is present) or 0 (explicitly absent, e.g. "not rude at all" for ``coldness``),
and ``start``/``end`` are character offsets of the clause it voted on.  No
vote means the LF abstains.

Clauses are the segments of :class:`cxnlp.text.Segmenter` (sentences, or
capital-letter pieces of the unpunctuated hotel reviews), cut again at
contrast markers ("friendly *but* clueless" is two clauses).  Each clause
knows, per token:

* **negation**: whether the token lies in the scope of a negator ("not",
  "n't", "never", "no", "no one", "without", "less than"...).  The scope runs
  forward up to six tokens and stops at punctuation, a contrast or
  subordinating word, or an "and" that starts a new clause.  Pseudo-negations
  ("not only", "no problem", "could not have been more helpful", "never seen
  such rude staff") do not negate;
* **anchor**: the nearest word the cue is said about, left within eight
  tokens or right within three: a *staff* word (receptionist, agent, staff,
  she, they...) or a *thing* word (room, breakfast, wifi, it...).  "The room
  was cold" is anchored to a thing and is not ``coldness``.

Most LFs are :class:`CueLF`: a list of phrases (spaCy ``PhraseMatcher`` on
the token norm, so "didn't", "didnt" and "did not" match alike) and/or token
patterns (spaCy ``Matcher``), one target key, an anchor rule and a negation
rule.  A negated cue of a positive skill votes the negative key ("no one was
friendly" -> ``friendliness-``); a negated cue of a negative skill or a sin
votes 0 ("not rude" -> ``coldness`` absent); a phrase carrying its own
negation ("did not care") is taken literally.  Anything else is a function
LF (:func:`labeling_function`), or a comment LF (:class:`CommentLF`) that
sees all clauses at once.

**Gates.**  Some functions are not evidence about a key but a precondition
for it: ``no_staff_mentioned.v1`` says a comment naming no person, no
conversation and no manner word is out of scope (labels describe people), so
every key is absent.  Such an LF is declared a *gate*
(``registry.lf("name.v1", factory, gate=True)``, or ``gate=True`` on the LF).
A gate votes only "absent" (0), meaning "out of scope for this key"; where it
does, both majority vote and the label model answer *absent* before they
combine the other votes; the label model estimates no accuracy for the gate
and uses gated comments only as known negatives of the key (see
:meth:`cxnlp.weak.apply.Votes.gated` and :mod:`cxnlp.weak.label_model`).

LFs are registered under versioned names (``staff_rude.v1``) in
:data:`registry`; users register their own for a custom taxonomy::

    from cxnlp.weak import registry, CueLF

    @registry.lf("long_hold.v1")
    def long_hold(taxonomy):
        return CueLF("long_hold.v1", "responsiveness-", phrases=["on hold for hours"], anchor="any")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cxnlp.taxonomy import Taxonomy


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_+-]+)*\.v\d+$")


# ------------------------------------------------------------------ registry
class LFRegistry:
    """Name -> LF factory.  A factory takes the taxonomy and returns one LF or a list of LFs.

    Names are versioned (``name.v1``): change an LF's behaviour, bump the version.
    Registration order is the LFs' priority (see :class:`cxnlp.weak.apply.WeakLabeler`).
    """

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[Taxonomy], Any]] = {}
        self._gates: set[str] = set()

    def lf(self, name: str, func: Callable[[Taxonomy], Any] | None = None, *, gate: bool = False):
        """Register a factory; usable as ``@registry.lf("name.v1")`` or ``registry.lf("name.v1", factory)``.

        ``gate=True`` declares the LFs it makes scope gates (see the module docstring): their absent votes
        decide the key before the other votes are combined."""
        if not _NAME.match(name):
            raise ValueError(
                f"LF name {name!r}: use lower-case letters, digits, '_' and a version, e.g. 'staff_rude.v1'"
            )

        def deco(f: Callable[[Taxonomy], Any]):
            self._factories[name] = f
            if gate:
                self._gates.add(name)
            else:
                self._gates.discard(name)
            return f

        return deco(func) if func is not None else deco

    register = lf

    def get(self, name: str) -> Callable[[Taxonomy], Any]:
        try:
            return self._factories[name]
        except KeyError:
            raise KeyError(f"no labeling function {name!r} registered (known: {', '.join(self._factories)})") from None

    def names(self) -> list[str]:
        return list(self._factories)

    def is_gate(self, name: str) -> bool:
        return name in self._gates

    def unregister(self, name: str) -> None:
        self._factories.pop(name, None)
        self._gates.discard(name)

    def __contains__(self, name: str) -> bool:
        return name in self._factories


registry = LFRegistry()


# --------------------------------------------------------------------- votes
@dataclass(frozen=True)
class Vote:
    key: str
    value: int  # 1 present, 0 explicitly absent
    start: int  # character offsets (into the comment) of the clause voted on
    end: int


# -------------------------------------------------------------- lexical cues
NEGATORS = _set(
    "not no never nobody none nothing neither nor without hardly barely cannot noone zero lack lacks lacked lacking"
)
# Two-token negators: "less than friendly", "far from helpful", "anything but polite".
NEGATOR_PAIRS = frozenset({("less", "than"), ("far", "from"), ("anything", "but"), ("lack", "of")})
# A negator followed by one of these is not a negation ("not only", "no problem", "can't fault").
PSEUDO_NEXT = _set(
    "only just problem problems doubt matter wonder hesitation hesitate issue issues trouble fault faults thank "
    "praise complain complaints enough more better nicer friendlier kinder happier warmer too bad wrong seen met "
    "experienced encountered exaggeration"
)
# Skipped when looking for the pseudo-negation word: "could not have been more", "couldn't do enough".
PSEUDO_SKIP = _set("have been be do any say ask for recommend")
SCOPE_STOP = _set(
    ", . ; : ! ? ( ) but however although though yet except whereas while which who whom because since so when "
    "if as until unless after before"
)
# "and" ends a negation's scope when it starts a new clause ("never greeted us and ignored us").
AND_NEW_CLAUSE = _set("i we he she they it the a an then this that there their our my his her you")
CONTRAST = _set("but however although though whereas except nevertheless nonetheless")
NEG_WINDOW = 6

STAFF_WORDS = _set(
    """staff staffs stuff employee employees worker workers personnel team crew receptionist receptionists reception
    desk concierge concierges manager managers management supervisor supervisors agent agents representative
    representatives rep reps associate associates clerk clerks teller tellers banker bankers officer officers
    cashier cashiers waiter waiters waitress waitresses waitstaff server servers bartender bartenders barman barmen
    barista baristas host hostess housekeeping housekeeper housekeepers maid maids cleaner cleaners doorman doormen
    porter porters bellboy bellboys bellman bellmen chef chefs he she him her they them everyone everybody person
    people lady ladies guy guys gentleman gentlemen man men woman women member members operator operators
    specialist specialists advisor advisors adviser advisers consultant consultants collector collectors
    someone somebody service support security owner owners employees personal checkin"""
)
THING_WORDS = _set(
    """room rooms bed beds bathroom bathrooms shower showers toilet toilets breakfast food coffee tea water pool gym
    spa wifi internet lift lifts elevator elevators air aircon conditioning heating heater window windows view views
    location area street streets neighbourhood neighborhood building decor carpet carpets furniture price prices tv
    hotel website app system process payment payments account accounts loan loans letter letters mail it this that
    everything weather beer drink drinks meal meals dinner lunch menu dish dishes pillow pillows towel towels bedding
    sheets mattress door doors key keys card cards floor floors wall walls corridor corridors lobby parking car taxi
    bar restaurant restaurants music atmosphere ambience ambiance vibe place city town station metro tube bus
    transport noise guest guests customers neighbours neighbors kids children baby family couple couples price
    value money stay wait bill fee fees rate rates interest credit report score debt balance bank company"""
)


def _norm_phrase(phrase: str) -> str:
    return phrase.strip().lower()


# ------------------------------------------------------------------- clauses
@dataclass
class Clause:
    """One clause of one segment: tokens ``[start, end)`` of ``doc``, offsets into the comment."""

    doc: Any  # spacy Doc of the segment
    start: int  # token index in doc
    end: int
    offset: int  # character offset of the segment in the comment
    negated: list[bool]  # per token of doc
    norms: list[str]  # per token of doc

    @property
    def start_char(self) -> int:
        return self.offset + self.doc[self.start].idx

    @property
    def end_char(self) -> int:
        last = self.doc[self.end - 1]
        return self.offset + last.idx + len(last.text)

    @property
    def text(self) -> str:
        return self.doc[self.start : self.end].text

    def vote(self, key: str, value: int = 1) -> Vote:
        return Vote(key, value, self.start_char, self.end_char)

    def is_negated(self, i: int) -> bool:
        return self.negated[i]

    def anchor(self, start: int, end: int, left: int = 8, right: int = 3) -> str | None:
        """'staff', 'thing' or None: the nearest anchor word to tokens ``[start, end)`` in this clause."""
        norms = self.norms
        found_l = found_r = None
        for i in range(start - 1, max(self.start, start - left) - 1, -1):
            kind = _anchor_kind(norms, i)
            if kind:
                found_l = (start - i, kind)
                break
        for i in range(end, min(self.end, end + right)):
            kind = _anchor_kind(norms, i)
            if kind:
                found_r = (i - end + 1, kind)
                break
        if found_l and found_r:
            return found_l[1] if found_l[0] <= found_r[0] else found_r[1]
        return (found_l or found_r or (0, None))[1]

    def has(self, words: Iterable[str]) -> bool:
        ws = set(words)
        return any(self.norms[i] in ws for i in range(self.start, self.end))


def _anchor_kind(norms: Sequence[str], i: int) -> str | None:
    w = norms[i]
    if w in STAFF_WORDS:
        return "staff"
    if w == "check" and i + 1 < len(norms) and norms[i + 1] in ("in", "out"):
        return "staff"
    if w in THING_WORDS:
        return "thing"
    return None


def negation_scope(norms: Sequence[str]) -> list[bool]:
    """Per token: inside the scope of a negator?"""
    n = len(norms)
    out = [False] * n
    for i, w in enumerate(norms):
        width = 1
        if w in NEGATORS or (w == "t" and i > 0 and norms[i - 1].endswith("n")):
            pass
        elif i + 1 < n and (w, norms[i + 1]) in NEGATOR_PAIRS:
            width = 2
        else:
            continue
        if w == "no" and i + 1 < n and norms[i + 1] == "-":
            width = 2  # "no-one"
        # pseudo-negation: look past "have been", "do", "be" for "more", "enough", "fault"...
        j = i + width
        while j < n and norms[j] in PSEUDO_SKIP and j < i + width + 3:
            j += 1
        if j < n and (norms[j] in PSEUDO_NEXT or (norms[j].endswith("er") and norms[j - 1] in ("been", "be"))):
            continue
        for k in range(i + width, min(n, i + width + NEG_WINDOW)):
            t = norms[k]
            if t in SCOPE_STOP:
                break
            if t == "and" and k + 1 < n and (norms[k + 1] in AND_NEW_CLAUSE or norms[k + 1].endswith("ed")):
                break
            out[k] = True
    return out


def clause_bounds(norms: Sequence[str]) -> list[tuple[int, int]]:
    """Token ranges of the clauses of a segment, cut at contrast markers and ';'."""
    bounds, start = [], 0
    n = len(norms)
    for i, w in enumerate(norms):
        cut = w in CONTRAST or w == ";" or (w == "yet" and i > 0 and norms[i - 1] == ",")
        if cut and i > start:
            end = i
            while end > start and norms[end - 1] in (",", "-", "–"):
                end -= 1
            if end > start:
                bounds.append((start, end))
            start = i + 1 if w != "yet" else i + 1
    if start < n:
        bounds.append((start, n))
    return [(s, e) for s, e in bounds if e > s] or [(0, n)]


# ----------------------------------------------------------------------- LFs
class LabelingFunction:
    """Base class.  Subclasses set ``name`` and ``keys`` and implement :meth:`vote`.

    ``phrases`` (lists of strings, matched on token norms) and ``patterns``
    (spaCy ``Matcher`` token patterns) are compiled once for all LFs by the
    applier; :meth:`vote` is then called for each clause where at least one of
    this LF's phrases or patterns matched, with the matches as token spans.
    An LF with neither (``always = True``) is called on every clause.
    A *comment* LF (``scope = "comment"``) instead implements
    :meth:`vote_comment` and sees all the clauses of a comment at once.
    A *gate* (``gate = True``) votes only absent, meaning "out of scope": see the module docstring.
    """

    name: str = ""
    keys: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    patterns: tuple[list[dict], ...] = ()
    always: bool = False
    scope: str = "clause"
    gate: bool = False

    def vote(self, clause: Clause, matches: list[tuple[int, int]]) -> list[Vote]:
        raise NotImplementedError

    def vote_comment(self, text: str, clauses: list[Clause]) -> list[Vote]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<LF {self.name} -> {', '.join(self.keys)}>"


class CommentLF(LabelingFunction):
    """An LF over a whole comment: ``func(text, clauses) -> votes``."""

    scope = "comment"

    def __init__(self, name: str, keys: Sequence[str], func, gate: bool = False) -> None:
        self.name = name
        self.keys = tuple(keys)
        self.func = func
        self.gate = gate

    def vote_comment(self, text: str, clauses: list[Clause]) -> list[Vote]:
        return list(self.func(text, clauses) or ())


ANCHORS = ("staff", "unanchored", "not_thing", "any")


class CueLF(LabelingFunction):
    """Vote ``key`` where a cue phrase or pattern matches in a clause.

    ``anchor``: ``"staff"`` needs a staff word near the cue; ``"unanchored"``
    fires only when no anchor word is near (so a staff/unanchored pair of
    LFs never votes on the same cue); ``"not_thing"`` fires unless a thing
    word is nearest; ``"any"`` always fires.

    ``negated``: what a negated cue votes: ``"flip"`` (a positive skill's
    negative key, 0 for negative keys and sins), ``"absent"`` (0 for ``key``),
    ``"ignore"`` (vote as if not negated), ``"skip"`` (abstain), or a tuple
    of keys to vote present.  A phrase that carries its own negation ("did not
    care", "no help") is always taken literally.
    ``exclude_next``/``exclude_prev`` drop matches followed/preceded (within
    two tokens) by these words ("kind *of*", "customer *care*", "*I* hung up").
    ``context``: the match counts only with one of these words at most
    ``context_window`` tokens before it in the clause ("told me ... *policy*").
    ``negated_only``: vote only where the cue is negated ("no one called back").
    """

    def __init__(
        self,
        name: str,
        key: str,
        phrases: Iterable[str] = (),
        patterns: Iterable[list[dict]] = (),
        anchor: str = "not_thing",
        negated: str | tuple[str, ...] = "flip",
        exclude_next: Iterable[str] = (),
        exclude_prev: Iterable[str] = (),
        also: Iterable[str] = (),
        context: Iterable[str] = (),
        context_window: int = 10,
        negated_only: bool = False,
    ) -> None:
        if anchor not in ANCHORS:
            raise ValueError(f"{name}: anchor {anchor!r} (use one of {', '.join(ANCHORS)})")
        self.name = name
        self.key = key
        self.also = tuple(also)  # extra keys voted present with ``key``
        self.phrases = tuple(dict.fromkeys(_norm_phrase(p) for p in phrases if p.strip()))
        self.patterns = tuple(patterns)
        self.anchor_rule = anchor
        self.negated_rule = negated
        self.exclude_next = frozenset(exclude_next)
        self.exclude_prev = frozenset(exclude_prev)
        self.context = frozenset(context)
        self.context_window = context_window
        self.negated_only = negated_only
        flip = self._flip_keys()
        self.keys = tuple(dict.fromkeys((key, *self.also, *flip)))

    def _flip_keys(self) -> tuple[str, ...]:
        rule = self.negated_rule
        if isinstance(rule, tuple):
            return rule
        if rule == "flip" and self.key.endswith("+"):
            return (self.key[:-1] + "-",)
        return ()

    def vote(self, clause: Clause, matches: list[tuple[int, int]]) -> list[Vote]:
        out: list[Vote] = []
        norms = clause.norms
        for s, e in matches:
            if self.exclude_next and e < len(norms) and norms[e] in self.exclude_next:
                continue
            if self.exclude_prev and any(norms[i] in self.exclude_prev for i in range(max(0, s - 2), s)):
                continue
            if self.context and not any(
                norms[i] in self.context for i in range(max(clause.start, s - self.context_window), s)
            ):
                continue
            if self.anchor_rule != "any":
                a = clause.anchor(s, e)
                rule = self.anchor_rule
                if (rule == "staff" and a != "staff") or (rule == "unanchored" and a is not None):
                    continue
                if rule == "not_thing" and a == "thing":
                    continue
            # A phrase carrying its own negation ("did not care") is taken literally.
            own = any(norms[t] in NEGATORS or norms[t] == "not" for t in range(s, e))
            if clause.is_negated(s) and not own and self.negated_rule != "ignore":
                out.extend(self._negated_votes(clause))
            elif not self.negated_only:
                out.append(clause.vote(self.key, 1))
                out.extend(clause.vote(k, 1) for k in self.also)
        return out

    def _negated_votes(self, clause: Clause) -> list[Vote]:
        rule = self.negated_rule
        if rule == "skip":
            return []
        if isinstance(rule, tuple):
            return [clause.vote(k, 1) for k in rule]
        if rule == "flip" and self.key.endswith("+"):
            return [clause.vote(self.key[:-1] + "-", 1)]
        return [clause.vote(self.key, 0)]


class FunctionLF(LabelingFunction):
    """An LF from a plain function ``f(clause, matches) -> votes`` (see :func:`labeling_function`)."""

    def __init__(self, name: str, keys: Sequence[str], func, phrases=(), patterns=()) -> None:
        self.name = name
        self.keys = tuple(keys)
        self.func = func
        self.phrases = tuple(_norm_phrase(p) for p in phrases)
        self.patterns = tuple(patterns)
        self.always = not self.phrases and not self.patterns

    def vote(self, clause: Clause, matches: list[tuple[int, int]]) -> list[Vote]:
        return list(self.func(clause, matches) or ())


def labeling_function(
    name: str, keys: Sequence[str], phrases: Sequence[str] = (), patterns: Sequence[list[dict]] = (), reg=None
):
    """Decorator: register ``f(clause, matches) -> votes`` as an LF named ``name``.

    >>> @labeling_function("mentions_manager.v1", keys=["runaround"], phrases=["speak to a manager"])
    ... def mentions_manager(clause, matches):
    ...     return [clause.vote("runaround")]
    """

    def deco(func):
        lf = FunctionLF(name, keys, func, phrases, patterns)
        (reg or registry).lf(name, lambda taxonomy: lf)
        return func

    return deco


# ---------------------------------------------------------- taxonomy cue LFs
def taxonomy_cue_lfs(taxonomy: Taxonomy, prefix: str = "taxonomy_cues") -> list[LabelingFunction]:
    """For any taxonomy: one staff-anchored and one unanchored cue LF per key, from its cue phrases.

    A cue phrase that is the negation of a cue of the skill's other polarity
    ("not friendly" beside "friendly") is left to the negation rule.
    """
    out: list[LabelingFunction] = []
    for lab in taxonomy.labels:
        for key in lab.keys:
            phrases = list(lab.cues_for(key))
            if lab.kind == "skill":
                other = {p.lower() for p in lab.cues_for(lab.keys[1] if key == lab.keys[0] else lab.keys[0])}
                phrases = [p for p in phrases if not _negation_of(p.lower(), other)]
            if not phrases:
                continue
            tag = key.replace("+", "_pos").replace("-", "_neg")
            out.append(CueLF(f"{prefix}.{tag}.v1", key, phrases, anchor="staff"))
            out.append(CueLF(f"{prefix}_unanchored.{tag}.v1", key, phrases, anchor="unanchored"))
    return out


def _negation_of(phrase: str, others: set[str]) -> bool:
    words = phrase.split()
    return len(words) > 1 and words[0] in NEGATORS | {"not", "never"} and " ".join(words[1:]) in others


@dataclass
class LFSet:
    """The LFs in use, in priority order, for one taxonomy."""

    taxonomy: Taxonomy
    lfs: list[LabelingFunction] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [lf.name for lf in self.lfs]

    def sources(self) -> list[tuple[str, str]]:
        """(LF name, key) pairs: the columns of the vote matrix."""
        known = set(self.taxonomy.keys)
        return [(lf.name, k) for lf in self.lfs for k in lf.keys if k in known]


def build_lfs(taxonomy: Taxonomy | None = None, names: Sequence[str] | None = None) -> LFSet:
    """The LFs for a taxonomy, in priority order.

    ``names=None``: every registered LF that votes on one of the taxonomy's
    keys, then cue-phrase LFs (:func:`taxonomy_cue_lfs`) for the keys no
    registered LF covers, so a custom taxonomy is labeled from its own cues.
    With ``names``, exactly those registered LFs.
    """
    from cxnlp.weak import default_lfs  # noqa: F401 - registers the built-in LFs

    taxonomy = taxonomy or Taxonomy.default()
    known = set(taxonomy.keys)
    lfs: list[LabelingFunction] = []
    for name in registry.names() if names is None else names:
        made = registry.get(name)(taxonomy)
        for lf in made if isinstance(made, list | tuple) else [made]:
            if registry.is_gate(name):
                lf.gate = True
            if set(lf.keys) & known:
                lfs.append(lf)
    if names is None:
        # Keys some clause LF can vote present on (comment LFs such as no_staff_mentioned only vote absent).
        covered = {k for lf in lfs if lf.scope == "clause" for k in lf.keys}
        lfs += [lf for lf in taxonomy_cue_lfs(taxonomy) if set(lf.keys) - covered]
    seen: set[str] = set()
    for lf in lfs:
        if lf.name in seen:
            raise ValueError(f"two LFs are named {lf.name!r}")
        seen.add(lf.name)
    return LFSet(taxonomy, lfs)
