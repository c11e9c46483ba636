"""The built-in labeling functions for the default taxonomy (27 keys).

Each key has a *cue family*: the taxonomy's own cue phrases for the key
(``resources/taxonomy.toml``) plus a wider lexicon written from the
guideline.  A family whose words also describe things ("cold", "slow",
"nice", "quick") is two LFs: ``<family>.v1`` fires where a staff word is
the nearest anchor ("the receptionist was cold"), ``<family>_unanchored.v1``
where there is no anchor at all ("Cold and curt"); neither fires when a
thing is the nearest anchor ("the room was cold").  Pattern LFs cover what a
phrase list cannot ("transferred 5 times", "on hold for two hours",
"hung up on me" but not "I hung up").

Order is priority: where two LFs vote the same key on overlapping words,
only the first one's vote counts (one piece of evidence, one vote).
"""

from __future__ import annotations

from collections.abc import Iterable

from cxnlp.taxonomy import Taxonomy
from cxnlp.weak.lf import CommentLF, CueLF, LabelingFunction, Vote, _set, registry

NUM = {"LIKE_NUM": True}
QUANT = ["several", "multiple", "many", "numerous", "countless", "few", "couple", "dozen", "two", "three"]
TIME_UNITS = ["hour", "hours", "hrs", "hr", "minutes", "minute", "mins", "min", "days", "weeks", "months"]

BUILTIN_NAMES: set[str] = set()


def _words(s: str) -> list[str]:
    return [w.strip() for w in s.split("|") if w.strip()]


# Taxonomy cue phrases that are right less than about half the time on the train split (words that also
# describe things, or customers): they go to each key's ``*_weak`` family, so the label model can weigh them.
TAXONOMY_WEAK = frozenset(
    _words(
        "warm|kind|offered|suggested|recommended|followed up|solved|resolved|fixed|quick|prompt|straight away|slow|"
        "never responded|calm|cold|glared|no idea|didn't know|rushed|pressured|upsell|irritated|remembered|greeted|"
        "listened|understanding|reassured|dismissed|lied|argued|reliable"
    )
)


def _negation_cue(phrase: str) -> bool:
    """ "not friendly" as a friendliness- cue: the negation rule of "friendly" already covers it."""
    return phrase.lower().split()[0] in ("not", "never") and len(phrase.split()) == 2


def _family(
    name: str,
    key: str,
    phrases: Iterable[str],
    *,
    taxonomy_cues: bool | str = False,
    split: bool = True,
    anchor_only: Iterable[str] = (),
    anchor: str | None = None,
    **kw,
) -> None:
    """Register a cue family: ``name.v1`` (anchored) and, with ``split``, ``name_unanchored.v1``.

    ``anchor_only`` phrases (ambiguous words such as "nice" or "slow") are left
    out of the unanchored LF.
    """
    phrases = list(phrases)
    anchor_only = {p.lower() for p in anchor_only}

    def cues(taxonomy: Taxonomy) -> list[str]:
        out = list(phrases)
        if taxonomy_cues and key in taxonomy.keys:
            info = taxonomy.info(key)
            tax = [c for c in taxonomy.label(info.label).cues_for(key) if not _negation_cue(c)]
            # Taxonomy cues named in TAXONOMY_WEAK go to the key's weak family, the others to its strong one.
            weak = taxonomy_cues == "weak"
            out = [c for c in tax if (c.lower() in TAXONOMY_WEAK) == weak] + out
        return out

    def make(taxonomy: Taxonomy) -> LabelingFunction:
        rule = "staff" if split else (anchor or "not_thing")
        return CueLF(f"{name}.v1", key, cues(taxonomy), anchor=rule, **kw)

    registry.lf(f"{name}.v1", make)
    BUILTIN_NAMES.add(f"{name}.v1")
    if split:

        def make_free(taxonomy: Taxonomy) -> LabelingFunction:
            free = [p for p in cues(taxonomy) if p.lower() not in anchor_only]
            return CueLF(f"{name}_unanchored.v1", key, free, anchor="unanchored", **kw)

        registry.lf(f"{name}_unanchored.v1", make_free)
        BUILTIN_NAMES.add(f"{name}_unanchored.v1")


def _lf(name: str, key: str, phrases: Iterable[str] = (), patterns: Iterable[list[dict]] = (), **kw) -> None:
    """Register a single (unsplit) LF."""
    lf_phrases, lf_patterns = list(phrases), list(patterns)
    registry.lf(f"{name}.v1", lambda taxonomy: CueLF(f"{name}.v1", key, lf_phrases, lf_patterns, **kw))
    BUILTIN_NAMES.add(f"{name}.v1")


# ============================================================ soft skills
# ---------------------------------------------------------- friendliness
_family(
    "friendly_staff",
    "friendliness+",
    _words(
        "friendlier|friendliest|very friendly|welcomed|warm welcome|warmly|politely|courteous|courteously|kindness|"
        "cheerful|hospitable|amiable|cordial|made us feel welcome|made me feel welcome|made us feel at home|"
        "made us feel very welcome|respectful|good humoured|good natured|nice people|lovely people|nice staff|"
        "smiling staff|with a smile|always smiling"
    ),
    exclude_prev=_words(
        "family|pet|eco|user|budget|child|kid|kids|environment|environmentally|gay|dog|wheelchair|baby"
    ),
    taxonomy_cues=True,
)
_family(
    "nice_staff",
    "friendliness+",
    _words("nice|lovely|smile|smiles|smiled|pleasant|charming|sweet|gracious|adorable|sympathique|kind hearted"),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
    exclude_next=["of", "regards", "weather", "day", "view", "water"],
)
# "not friendly (at all)", "less than friendly" name an unfriendly manner: coldness (convention 11).
_lf(
    "not_friendly",
    "coldness",
    patterns=[
        [
            {"NORM": {"IN": ["not", "never", "nt"]}},
            {
                "NORM": {
                    "IN": ["very", "the", "most", "particularly", "so", "that", "really", "overly", "too", "exactly"]
                },
                "OP": "*",
            },
            {"NORM": {"IN": ["friendly", "polite", "welcoming", "nice", "courteous"]}},
        ],
        [{"NORM": "less"}, {"NORM": "than"}, {"NORM": {"IN": ["friendly", "polite", "welcoming", "helpful"]}}],
    ],
    anchor="not_thing",
    also=["friendliness-"],
)
_family(
    "rude_staff",
    "coldness",
    _words(
        "rudely|rudest|ruder|rudeness|impolite|unfriendly|nasty|grumpy|disrespectful|disrespected|disrespect|yelled|"
        "yelling|screamed|screaming|obnoxious|insulting|insulted|abrupt|abruptly|snappy|snapping|bad attitude|"
        "attitude problem|poor attitude|terrible attitude|horrible attitude|rude attitude|surly|sullen|stroppy|"
        "offhand|short with me|short with us|raised her voice|raised his voice|raised their voice|unkind|sarcastic|"
        "belligerent|cold shoulder|cursed at me|snarky|snotty|unsmiling|gruff|brusque|hostility"
    ),
    also=["friendliness-"],
    taxonomy_cues=True,
)
_family(
    "cold_staff",
    "coldness",
    _words(
        "mean|unpleasant|aggressive|aggressively|angry|moody|harsh|rough|sour|frosty|icy|intimidating|shouting|"
        "shouted|bullied|bullying|coldly|very cold|not nice"
    ),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
    exclude_next=["water", "shower", "showers", "food", "breakfast", "air", "room", "rooms", "weather", "drinks"],
    also=["friendliness-"],
)
_family(
    "unwelcoming",
    "friendliness-",
    _words(
        "unwelcome|unwelcoming|not welcome|felt unwelcome|made to feel unwelcome|no smile|without a smile|"
        "never smiled|not a smile|not even a smile|no hello|not even a hello|not even hello|no warmth|"
        "not very welcoming|could smile more|smile more|more smiles|a bit more smile|bit more friendly|more friendly"
    ),
    taxonomy_cues=True,
    split=False,
)

# -------------------------------------------------------------- expertise
_family(
    "knowledgeable",
    "expertise+",
    _words(
        "knowledgable|well informed|informative|competent|knew what|knew their stuff|knew the city|knows the area|"
        "knew everything|good advice|helpful advice|excellent advice|useful advice|great tips|good tips|useful tips|"
        "restaurant recommendations|great recommendations|good recommendations|excellent recommendations|"
        "local knowledge|answered all|answered every|answered our questions|answered my questions|"
        "very knowledgeable|good suggestions|great suggestions|useful information|helpful information"
    ),
    taxonomy_cues=True,
)
_family(
    "advice_weak",
    "expertise+",
    _words(
        "advice|advices|advise|tips|recommendations|recommendation|suggestions|directions|knowledge|expertise|"
        "experienced|explained everything|explained clearly|clearly explained|explained in detail|walked me through|"
        "walked us through|thoroughly explained|explained very well"
    ),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
    negated="skip",
)
_family(
    "clueless",
    "expertise-",
    _words(
        "did not know|didn't know|had no idea|no clue|had no clue|incompetent|incompetence|inexperienced|untrained|"
        "poorly trained|not trained|lack of training|misinformation|misinformed|wrong information|wrong info|"
        "gave me wrong|gave us wrong|told me wrong|wrong directions|wrong advice|bad advice|conflicting information|"
        "conflicting answers|different answer|different answers|different story|different stories|contradicting|"
        "contradicted|contradictory|no one knew|nobody knew|no one seemed to know|nobody seemed to know|"
        "didn't seem to know|did not seem to know|could not answer|couldn't answer|unable to answer|mixed messages|"
        "was misled|misadvised|misrepresentation|misrepresented|couldn't tell me|could not tell me|can't tell me|"
        "cannot tell me|no one could tell|nobody could tell|no one can tell|nobody can tell|could not explain|"
        "couldn't explain|cannot explain|can't explain|told me the wrong|gave me the wrong"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)
_family(
    "dont_know_weak",
    "expertise-",
    _words("don't know|do not know|doesn't know|does not know|no idea|confused|not sure"),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
)
_lf(
    "told_wrong",
    "expertise-",
    _words(
        "which is incorrect|which is untrue|which is not true|that is not true|not true|untrue|incorrect|wrong|"
        "inaccurate|false"
    ),
    anchor="not_thing",
    context=_words(
        "said|says|told|tells|stated|states|informed|explained|claimed|claims|advised|assured|he|she|agent|rep|representative"
    ),
    context_window=12,
    exclude_next=["information", "info", "items", "item", "accounts", "account", "reporting"],
)

# ------------------------------------------------------------ proactivity
_family(
    "went_out_of_way",
    "proactivity+",
    _words(
        "out of their way|out of his way|out of her way|above and beyond|beyond the call|without being asked|"
        "without us asking|unasked|complimentary upgrade|free upgrade|upgraded us|took the initiative|"
        "thought of everything|went the extra mile|extra mile|anticipated our|anticipated my|offered us|"
        "kindly offered|without asking"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)
_family(
    "offered_weak",
    "proactivity+",
    _words(
        "offered|offered me|offered to|offering|upgrade|upgraded|surprise|surprised us|suggested we|recommended us|"
        "recommended we|arranged for|gave us a map"
    ),
    taxonomy_cues="weak",
    anchor="not_thing",
    split=False,
    exclude_prev=["i", "we", "would", "highly", "definitely", "will"],
)
_family(
    "had_to_chase",
    "proactivity-",
    _words(
        "had to ask|had to keep asking|had to remind|had to call them|had to keep chasing|chasing|had to go down|"
        "nobody told|no one told|never informed|not informed|was not informed|wasn't informed|did not inform|"
        "didn't inform|failed to inform|failed to disclose|did not disclose|didn't disclose|never explained|"
        "not explained|wasn't explained|was not explained|were not explained|did not tell|didn't tell|never told|"
        "not told|were not told|weren't told|nobody informed|failed to notify|never notified|not notified|"
        "without notifying|without informing|without telling|no one bothered to|failed to mention|"
        "never mentioned|did not mention|didn't mention|not advised|were not advised|no information was given|"
        "had to find out|had to figure out|never offered|not offered|no one offered|nobody offered|did not offer|"
        "didn't offer|without warning|without any warning|no warning|no notice|without notice|never bothered to"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)

# ---------------------------------------------------------------- passion
_family(
    "enthusiastic",
    "passion+",
    _words(
        "enthusiasm|enthusiastically|eager to help|eager to please|passion|love their job|loved their job|"
        "loves his job|loves her job|love what they do|enjoy their job|enjoy their work|enjoyed their work|zeal|"
        "keen to help|genuinely happy|with passion|passionately|full of energy|love working|eager|energy|vibrant"
    ),
    anchor_only=_words("energy|passion|eager|vibrant|energetic"),
    taxonomy_cues=True,
)
_family(
    "bored_staff",
    "passion-",
    _words(
        "uninterested|unenthusiastic|lack of enthusiasm|no enthusiasm|did not want to be there|didn't want to be there|"
        "not want to be there|could look happier|look happier|unhappy|fed up|sulky|lethargic|no energy|no soul|"
        "soulless|hate their job|hated their job|hates his job|not happy to be|look miserable|looked miserable|"
        "seemed miserable|looked bored|seemed bored|half hearted|half-hearted|lifeless|listless|demotivated|"
        "unmotivated|not motivated|no passion"
    ),
    anchor_only=_words("bored|miserable|unhappy|fed up|lifeless|disinterested"),
    taxonomy_cues=True,
)

# ---------------------------------------------------------------- empathy
_family(
    "caring",
    "empathy+",
    _words(
        "caring|empathetic|empathy|compassion|very understanding|so understanding|apologetic|made us feel special|"
        "made me feel special|feel special|feel so special|thoughtful|considerate|reassuring|reassurance|"
        "treated us like family|like family|sympathy|made our stay special|birthday surprise|anniversary surprise"
    ),
    anchor_only=_words("sympathy|like family|empathy|compassion|thoughtful|considerate"),
    exclude_next=["of", "for", "to"],
    taxonomy_cues=True,
)
_family(
    "understanding_weak",
    "empathy+",
    _words("understanding|for our anniversary|for my birthday|for our honeymoon|apologised|apologized"),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
    negated="skip",
    exclude_next=["of", "is", "was", "that"],
    exclude_prev=["my", "our", "the", "your"],
)
# "care": "they did not care" is apathy (and empathy-); "caring staff" is empathy+.
_lf(
    "care",
    "empathy+",
    _words("care|cared|cares|care about|cared about|seem to care|seemed to care|even care"),
    anchor="staff",
    negated=("apathy", "empathy-"),
    exclude_next=["of", "for", "less"],
    exclude_prev=["customer", "take", "took", "taking", "takes", "health", "skin", "taken", "extra", "medical"],
)
_family(
    "heartless",
    "empathy-",
    _words(
        "no empathy|lack of empathy|without empathy|zero empathy|zero compassion|unsympathetic|uncaring|callous|"
        "cruel|inhumane|no apology|without an apology|without apology|without any apology|never apologised|"
        "never apologized|did not apologize|did not apologise|didn't apologize|didn't apologise|not even an apology|"
        "not even apologize|not even apologise|no apologies|unapologetic|not apologetic|no sorry|not even sorry|"
        "did not care about my|don't care about my|doesn't care about my|no regard for|disregard for my|"
        "did not even acknowledge my|showed no concern|no concern for|no understanding|no consideration|"
        "inconsiderate|thoughtless|tone deaf|tone-deaf|refused to acknowledge my|no remorse"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)

# --------------------------------------------------------------- patience
_family(
    "patient",
    "patience+",
    _words(
        "patiently|patience|took his time|took their time|took the time|time to explain|never rushed|not rushed|"
        "did not rush|didn't rush|without rushing|no rush|not pushy|never pushy|no hard sell|calmly|stayed calm|"
        "very patient|so patient|extremely patient"
    ),
    anchor_only=_words("calm|patience|no rush|took their time|took his time|took the time"),
    taxonomy_cues=True,
)
_family(
    "pushy",
    "patience-",
    _words(
        "pressuring|pressured me|impatience|rushed us|rushed me|felt rushed|made us feel rushed|hard sell|upselling|"
        "upsold|sales pitch|kept calling|keep calling|keeps calling|badgered|badgering|hounded|hounding|hurry up|"
        "irritable|rushed through|pushy"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)
_family(
    "harassed_weak",
    "patience-",
    _words(
        "harass|harassed|harassing|harassment|pressure|pushing|annoyed|irritation|calling my work|calling my job|"
        "calling my family|called my family|called my job|called my work|calls to my work|calls to my job|"
        "daily calls|multiple calls a day|several times a day|constant calls|bombarded|forced me|forcing me|"
        "hurried|in a hurry|no time for"
    ),
    taxonomy_cues="weak",
    anchor="not_thing",
    split=False,
)

# ----------------------------------------------------------- attentiveness
_family(
    "attentive",
    "attentiveness+",
    _words(
        "attentively|great attention|attention to detail|paid attention|greeted us|greeted with|checking on us|"
        "check on us|checked on me|listened to|remembered our|remembered my|remembered us|remembered me|observant|"
        "very attentive|greeted by name|knew our names|remembered our names|looked after us|looked after me|"
        "taking care of us|took care of us|always available|at our disposal"
    ),
    taxonomy_cues=True,
)
_family(
    "attention_weak",
    "attentiveness+",
    _words("attention|noticed|always there|listening|greeted|welcomed us"),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
)
_family(
    "ignored",
    "attentiveness-",
    _words(
        "ignored|ignore|ignoring|ignored us|ignored me|ignored our|unacknowledged|didn't acknowledge|"
        "did not acknowledge|no acknowledgement|no acknowledgment|without acknowledging|on his phone|on her phone|"
        "on their phones|on their mobile|chatting with each other|talking to each other|talking among themselves|"
        "not paying attention|paid no attention|no attention|not listening|won't listen|will not listen|"
        "did not listen|wasn't listening|was not listening|doesn't listen|don't listen|do not listen|never listened|"
        "didn't even look up|did not even look up|no eye contact|without looking up|not greeted|nobody greeted|"
        "no one greeted|were not greeted|weren't greeted|wasn't greeted|never greeted|no greeting"
    ),
    anchor="not_thing",
    split=False,
    negated="absent",
    taxonomy_cues=True,
)
_family(
    "neglected_weak",
    "attentiveness-",
    _words(
        "on the phone|chatting|forgot|forgotten|neglected|overlooked|distracted|nobody came|never came|"
        "waited to be served|nobody at the desk|no one at the desk|nobody at reception|no one at reception|"
        "reception was empty|desk was empty|no staff around|couldn't find anyone|could not find anyone|"
        "no one around|nobody around|ignored my"
    ),
    taxonomy_cues=False,
    split=False,
    anchor="staff",
    negated="absent",
)

# --------------------------------------------------------- professionalism
_family(
    "professional",
    "professionalism+",
    _words(
        "professionally|professionalism|well presented|well dressed|smartly dressed|kept their promise|"
        "kept his word|kept her word|kept their word|as promised|polished|trustworthy|very professional|"
        "extremely professional|highly professional|courteous|discretion|honoured|honored"
    ),
    anchor_only=_words("honoured|honored|as promised|polished|reliable|trustworthy|discreet"),
    taxonomy_cues=True,
)
_family(
    "unprofessional",
    "professionalism-",
    _words(
        "unprofessionally|unprofessionalism|lie|lies|lying|liar|liars|argue|arguing|argumentative|swearing|cursed|"
        "cursing|threatened|threatening|threaten|broken promise|broken promises|broke their promise|"
        "broke his promise|never called back|never called me back|did not call back|didn't call back|"
        "did not call me back|didn't call me back|never call back|never returned my call|would call me back|"
        "promised to call|promised a call|tricked|accused me|accusing me|accused us|called me a liar|gossip|"
        "gossiping|drunk|swore at|talked about me|made fun|did not follow through|didn't follow through|"
        "never followed up"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)
_family(
    "misconduct_weak",
    "professionalism-",
    _words(
        "misled|deceived|deceptive|unethical|shady|negligent|careless|sloppy|inappropriate|disgraceful|"
        "without my authorization|without authorization|promised me|promised us|never did|no follow up|"
        "did not follow up|didn't follow up|told me it was done|said it was fixed|said they would call|"
        "said he would call|said she would call|supposed to call"
    ),
    taxonomy_cues="weak",
    anchor="not_thing",
    split=False,
)

# ---------------------------------------------------------- problem solving
_family(
    "helpful",
    "problem_solving+",
    _words(
        "helpful|helpfull|so helpful|extremely helpful|super helpful|really helpful|most helpful|incredibly helpful|"
        "helped|helped us|helped me|sorted out|sorted|accommodating|obliging|supportive|problem solved|"
        "nothing was too much|nothing too much trouble|nothing was too much trouble|could not do enough|"
        "couldn't do enough|willing to help|happy to help|ready to help|always ready to help|went smoothly"
    ),
    anchor_only=_words("sorted|supportive|happy to help"),
    taxonomy_cues=True,
)
_family(
    "fixed_weak",
    "problem_solving+",
    _words(
        "fixed it|fixed the|took care of it|assisted|assistance|rectified|found a solution|did everything|"
        "did their best|made it right|made it happen|worked with me|accommodated|was resolved|quickly resolved|"
        "resolved quickly|promptly resolved"
    ),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
    exclude_next=["rate", "rates", "income", "amount", "term", "price"],
)
# "did not help", "no help", "refused to help": the verb "help" alone is too ambiguous to be a positive cue.
_lf(
    "no_help",
    "problem_solving-",
    patterns=[
        [
            {
                "NORM": {
                    "IN": ["not", "never", "nt", "no", "nobody", "refused", "refuse", "refuses", "refusing", "unable"]
                }
            },
            {"NORM": {"IN": ["to", "even", "really", "able", "one", "-", "try", "tried"]}, "OP": "*"},
            {"NORM": {"IN": ["help", "helped", "assist", "assisted", "resolve", "resolved", "fix", "fixed", "solve"]}},
        ],
        [
            {"NORM": {"IN": ["no", "zero", "little"]}},
            {"NORM": {"IN": ["help", "assistance", "resolution", "solution"]}},
        ],
    ],
    anchor="not_thing",
)
_family(
    "unhelpful",
    "problem_solving-",
    _words(
        "unhelpfull|of no help|no assistance|did nothing|done nothing|to no avail|refused to|refuses to|refusing to|"
        "refuse to|failed to help|failed to fix|failed to resolve|could not solve|couldn't solve|can't solve|"
        "unable to solve|would not fix|wouldn't fix|won't fix|will not fix|refused to fix|nobody could help|"
        "no one could help|no one helped|nobody helped|nobody was able|no one was able|unable to fix|"
        "can do nothing|could do nothing|do nothing|nothing happened"
    ),
    anchor="not_thing",
    split=False,
    exclude_next=["remove", "delete"],
    taxonomy_cues=True,
)
_lf(
    "still_unresolved",
    "problem_solving-",
    _words(
        "still not|still no|still have not|still haven't|has not been|have yet to|has yet to|never received|"
        "have not received|haven't received|not resolved|unresolved|never resolved|never fixed|not fixed|"
        "wasn't fixed|was not fixed|still broken|nothing changed|nothing has changed|no solution|no resolution|"
        "took no action|no action|nothing has been done|never got fixed"
    ),
    anchor="any",
)

# ----------------------------------------------------------- responsiveness
_family(
    "quick_service",
    "responsiveness+",
    _words(
        "very efficient|efficiently|efficiency|responsive|responded quickly|within minutes|in minutes|in no time|"
        "no wait|no waiting|no queue|without delay|quick check in|fast check in|quick service|fast service|"
        "dealt with quickly|sorted quickly|fixed quickly|within seconds|very quick|super quick"
    ),
    anchor_only=_words("efficiency"),
    taxonomy_cues=True,
)
_family(
    "quick_weak",
    "responsiveness+",
    _words("quickly|promptly|immediately|right away|straightaway|fast|speedy|swift|swiftly|timely|rapidly"),
    taxonomy_cues="weak",
    split=False,
    anchor="staff",
    exclude_prev=["i", "we"],
)
_lf(
    "long_wait",
    "responsiveness-",
    patterns=[
        [
            {"NORM": {"IN": ["hold", "waited", "waiting", "wait", "queue", "queued", "queuing", "queueing", "took"]}},
            {
                "NORM": {
                    "IN": [
                        "for",
                        "over",
                        "about",
                        "almost",
                        "nearly",
                        "more",
                        "than",
                        "at",
                        "least",
                        "another",
                        "around",
                        "up",
                        "to",
                        "approximately",
                        "roughly",
                        "a",
                        "an",
                        "the",
                        "good",
                        "full",
                        "in",
                        "line",
                    ]
                },
                "OP": "*",
            },
            {"LIKE_NUM": True, "OP": "?"},
            {"NORM": {"IN": [*TIME_UNITS, "ages", "forever", "eternity"]}},
        ],
    ],
    anchor="any",
    negated="absent",
)
_family(
    "slow_service",
    "responsiveness-",
    _words(
        "on hold|put on hold|placed on hold|kept on hold|left on hold|hold time|took forever|took so long|"
        "took too long|took a long time|slow service|slow to respond|never returned|unanswered|no callback|"
        "no call back|no return call|understaffed|very slow|so slow|queue|queued|queuing"
    ),
    anchor="not_thing",
    split=False,
    negated="absent",
    taxonomy_cues=True,
)
_family(
    "wait_weak",
    "responsiveness-",
    _words(
        "slowly|waited|waiting|wait|delay|delayed|delays|ages|long time|no response|no reply|no answer|"
        "never heard back|never got back|not returned|did not answer|didn't answer|nobody answered|no one answered|"
        "never answered|not answering|never replied|did not reply|didn't reply|still no response"
    ),
    taxonomy_cues="weak",
    anchor="not_thing",
    split=False,
    negated="absent",
    exclude_next=["list"],
)

# ================================================================== sins
_family(
    "dont_care",
    "apathy",
    _words(
        "don't care|do not care|doesn't care|does not care|did not seem to care|didn't seem to care|"
        "don't seem to care|do not seem to care|couldn't care less|could care less|no one cared|nobody cared|"
        "no one cares|nobody cares|not care|uninterested|indifference|apathetic|apathy|shrug|shrugs|shrugging|"
        "could not be bothered|can't be bothered|cannot be bothered|not bothered|not their job|not his job|"
        "not her job|not my department|not our department|not their department|don't give a|didn't give a|"
        "did not give a|couldn't care|could not care|not even care|never cared"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)
_lf(
    "lazy_weak",
    "apathy",
    _words("lazy|laziness|did not bother|didn't bother|whatever|so what|tough luck|too bad|not their problem"),
    anchor="not_thing",
)
_family(
    "brush_off_cues",
    "brush_off",
    [],
    taxonomy_cues=True,
    split=False,
    anchor="any",
    exclude_prev=["i", "we"],
)
_lf(
    "hung_up",
    "brush_off",
    _words("hung up|hang up|hangs up|hanging up|hung the phone up|hung up the phone|hung up on me|hung up on us"),
    anchor="any",
    negated="absent",
    exclude_prev=["i", "we", "then", "finally", "eventually", "just", "and"],
)
_family(
    "nothing_we_can_do",
    "brush_off",
    _words(
        "nothing they can do|nothing they could do|nothing we can do|nothing we could do|nothing i can do|"
        "nothing he can do|nothing she can do|nothing he could do|nothing she could do|nothing else they can do|"
        "nothing more they can do|nothing more they could do|nothing that can be done|nothing can be done|"
        "nothing could be done|nothing to be done|couldn't do anything|could not do anything|can't do anything|"
        "cannot do anything|not able to do anything|unable to do anything|wouldn't do anything|would not do anything|"
        "won't do anything|will not do anything|refused to do anything|nothing they were able to do|"
        "nothing anyone can do|nothing we are able to do"
    ),
    anchor="any",
    split=False,
)
_family(
    "dismissed",
    "brush_off",
    _words(
        "dismissive|dismissively|brush off|brushed me off|brushed us off|brushed it off|brushed aside|fob off|"
        "fobbed us off|fobbed me off|blew me off|blew us off|blown off|blow me off|cut me off|refused to listen|"
        "refused to speak|refused to talk|wouldn't listen|wouldn't explain|would not explain|refused to explain|"
        "refused to give|refused to provide|refused to tell|stonewalled|stonewalling|deflected|evasive|non answer|"
        "played dumb|just give up|told me to go away|get rid of me|get rid of us|rushed me off the phone|"
        "just said no|turned us away|turned me away|sent us away|told me there was nothing|"
        "told us there was nothing|refused to escalate|would not escalate|wouldn't let me speak|"
        "would not let me speak|would not let me talk|talked over me|kept interrupting|avoided my question|"
        "avoided the question|denied everything"
    ),
    anchor="not_thing",
    split=False,
)
_family(
    "dismissed_weak",
    "brush_off",
    _words(
        "not our problem|your problem|not our fault|not their fault|not responsible|no explanation|"
        "without explanation|without any explanation|refused to answer|ended the call|no answers|gave no answer"
    ),
    taxonomy_cues="weak",
    split=False,
    anchor="not_thing",
)
_family(
    "condescending",
    "condescension",
    _words(
        "condescend|condescension|condescendingly|condesending|condecending|patronizing|patronised|patronized|"
        "patronize|patronise|talking down|talk down|talks down|spoke down|speaking down|like a child|like children|"
        "like an idiot|like a fool|like i was stupid|like i was an idiot|like i was a child|like we were stupid|"
        "like criminals|like a criminal|like a liar|belittle|belittled|belittling|demeaning|degrading|humiliated|"
        "humiliating|mocked|mocking|laughed at|laughed at me|laughed in my face|laughed at us|sneered|sneering|"
        "smirked|smirking|rolled her eyes|rolled his eyes|rolled their eyes|eye roll|eye rolling|arrogant|"
        "arrogance|superior attitude|looked down|look down on|looked down on|made me feel stupid|"
        "made me feel small|made me feel like an idiot|made us feel inferior|as if i was stupid|"
        "as if i were stupid|lectured|lecturing|scolded|scolding|judgmental|judgemental|snobbish|snobby|snooty|smug"
    ),
    anchor="not_thing",
    split=False,
    taxonomy_cues=True,
)
_lf("laughed_weak", "condescension", _words("laughed|laughing|insinuated|insinuating"), anchor="staff")
_family(
    "robotic",
    "robotism",
    _words(
        "robot|robots|like a robot|script|scripts|reading from a script|read off a script|canned|generic response|"
        "generic responses|generic message|generic email|generic answer|form letter|copy and paste|copy paste|"
        "same response|same answer|same thing over and over|templated|stock answer|cookie cutter|cut and paste|"
        "boilerplate|same generic|monotone|mechanical"
    ),
    anchor="any",
    split=False,
    taxonomy_cues=True,
)
_lf(
    "automated_weak",
    "robotism",
    _words(
        "automated response|automated responses|automated message|automated system|automated phone|automated menu|"
        "automated line|automated voice|auto response|auto-generated|automated|no human|real person|live person|"
        "real human|live agent|human being|chatbot|chat bot|bot|phone tree|ivr|recorded message"
    ),
    anchor="any",
)
SAID = _words(
    "said|says|say|told|tells|tell|stated|states|state|informed|explained|claimed|claims|insisted|insists|replied|"
    "responded|answered|advised|cited|quoted|because|due"
)
_family(
    "policy_cited",
    "rulebook",
    _words(
        "it's our policy|its our policy|it is our policy|our policy|company policy|bank policy|their policy|"
        "against policy|against our policy|against their policy|against company policy|per policy|per our policy|"
        "per company policy|hotel policy|store policy|rules are rules|no exceptions|no exception|make an exception|"
        "making an exception|make exceptions|by the book|computer says no|our procedures|their procedures|"
        "our rules|their rules|hotel rules|company rules|company guidelines|their guidelines|our guidelines|"
        "policy states|policy is|the policy|that is the policy|that's the policy|just following|"
        "it's policy|its policy"
    ),
    taxonomy_cues=True,
    split=False,
    anchor="any",
    negated="absent",
)
_lf(
    "rule_told",
    "rulebook",
    _words(
        "policy|policies|rules|procedure|procedures|protocol|guidelines|not allowed|not permitted|isn't allowed|"
        "is not allowed|not an option|not possible|cannot be done|can't be done|no way|inflexible|no flexibility|"
        "not flexible|regulations|system will not|system won't|system does not|system doesn't|not authorized|"
        "don't have the authority|do not have the authority|no authority|only accept|only allow|only allowed"
    ),
    anchor="any",
    context=SAID,
    context_window=8,
    exclude_prev=["insurance", "privacy", "life", "home", "auto", "cancellation", "pet"],
)
_family(
    "transferred",
    "runaround",
    _words(
        "transferred me|i was transferred|we were transferred|got transferred|transferred again|transferred back|"
        "transferred around|keep transferring|kept transferring|transferring me|transfer me|call was transferred|"
        "transferred to another|transferred to a different|transferred from department|passed around|passed from|"
        "bounced around|bounced back and forth|back and forth|run around|runaround|run-around|giving me the run|"
        "gave me the run|from one person to another|one department to another|desk to desk|department to department|"
        "person to person"
    ),
    anchor="any",
    split=False,
    negated="absent",
    taxonomy_cues=True,
)
_lf(
    "transferred_n_times",
    "runaround",
    patterns=[
        [
            {
                "NORM": {
                    "IN": [
                        "transferred",
                        "transfered",
                        "passed",
                        "bounced",
                        "sent",
                        "redirected",
                        "referred",
                        "switched",
                    ]
                }
            },
            {"IS_ALPHA": True, "OP": "?"},
            {"IS_ALPHA": True, "OP": "?"},
            {
                "NORM": {"IN": [*QUANT, "four", "five", "six", "seven", "eight", "nine", "ten", "3", "4", "5", "6"]},
                "OP": "?",
            },
            {"LIKE_NUM": True, "OP": "?"},
            {"NORM": "times"},
        ],
        [
            {"NORM": {"IN": ["spoke", "speaking", "talked", "talking", "spoken", "called"]}},
            {"NORM": {"IN": ["to", "with"]}},
            {"LIKE_NUM": True},
            {"NORM": {"IN": ["different", "other", "separate"]}, "OP": "?"},
            {"NORM": {"IN": ["people", "representatives", "reps", "agents", "persons", "employees", "departments"]}},
        ],
    ],
    anchor="any",
    negated="absent",
)
_lf(
    "redirected_weak",
    "runaround",
    _words(
        "told me to call|told me to contact|told to call|told to contact|instructed me to contact|"
        "instructed me to call|directed me to|referred me to|referred me back|sent me to|call another|"
        "call a different|another department|different department|other department|another number|"
        "different number|another person|another representative|another agent|several people|multiple people|"
        "multiple representatives|several representatives|different representatives|different people|"
        "different agents|blame each other|blaming each other|pointing fingers|finger pointing|passing the buck|"
        "passed the buck|each other|come back later|come back tomorrow|call back later|call back tomorrow|"
        "wait for the manager|ask the manager|contact the creditor|contact the original|been transferred|"
        "passed on to|passed me"
    ),
    anchor="any",
    negated="absent",
)

# ------------------------------------------------------------- broken promises
_lf(
    "no_call_back",
    "professionalism-",
    _words(
        "call back|called back|called me back|call me back|calls back|get back to me|got back to me|get back to us|"
        "got back to us|follow up|followed up|followed through|follow through|honor|honour|honored|honoured|"
        "kept their promise|kept his promise|kept her promise|keep their word|kept their word"
    ),
    anchor="not_thing",
    negated=("professionalism-",),
    negated_only=True,
)
_lf(
    "promised",
    "professionalism-",
    _words(
        "promised|promise|promises|assured|assured me|guaranteed|said they would|said he would|said she would|"
        "told me they would|told me it would|told us they would|said it would|was supposed to|were supposed to"
    ),
    anchor="not_thing",
    negated="skip",
)

# ------------------------------------------------ broad call-centre cues (``*_broad``)
# The keys with the weakest LFs (rulebook, runaround, empathy-, attentiveness-, responsiveness-,
# professionalism-, problem_solving-, brush_off) are mostly described in CFPB narratives without the
# sin's own word: "she said it had to be paid in full", "I called several times", "they keep calling
# my work".  These LFs catch such phrasings.  They are right less often than the anchored families
# above (roughly 0.3-0.6 on the train split) and overlap them: the label model weighs them, which is
# the point of having one.  They are registered after the precise LFs, so where both match the same
# words only the precise one votes.
TOLD = _words("said|says|told|tells|stated|states|informed|explained|advised|insisted|replied|responded|claimed")
_lf(
    "rule_cited_broad",
    "rulebook",
    _words(
        "not required to|not obligated|not obliged|no obligation|under no obligation|paid in full|in full before|"
        "can not be done|does not allow|do not allow|doesn't allow|don't allow|did not allow|didn't allow|"
        "inflexible|inflexibility|refused to bend|would not bend|wouldn't bend|won't bend|would not budge|"
        "wouldn't budge|won't budge|does not work like that|doesn't work like that|that's how it works|"
        "that is how it works|federal law|state law|by law|within its rights|within their rights|"
        "their procedure|the procedure|the process|internal|only way|the requirement|requirements|"
        "not eligible|wasn't eligible|was not eligible|didn't qualify|did not qualify|do not qualify|"
        "unless i|unless we|until i|until the|had to be|has to be|must be"
    ),
    anchor="any",
    context=[*TOLD, "because", "due", "since"],
    context_window=8,
    negated="skip",
)
_lf(
    "hung_up_on",
    "brush_off",
    _words(
        "hang up on me|hangs up on me|hung up on me|hang up on us|hung up on us|got hung up on|got hang up on|"
        "disconnected the call|disconnected me|disconnected the phone|disconnected on me|"
        "hung up in my face|hung the phone up on me"
    ),
    anchor="any",
    negated="absent",
)
_lf(
    "escalation_refused",
    "brush_off",
    _words(
        "refused to elevate|refused to transfer|would not transfer me|wouldn't transfer me|won't transfer me|"
        "will not transfer me|not transfer me|refused to let me speak|not let me speak to|denied my request to speak|"
        "refused to get a supervisor|refused to get a manager|refused to get me a|only to be denied|"
        "avoided letting me|would not let me talk|won't let me talk|not let me talk|would not give me|"
        "wouldn't give me|refused to provide|refused to answer|refuse to answer|refuses to answer|"
        "couldn't give me|could not give me|wont talk to me|won't talk to me|will not talk to me|"
        "would not talk to me|wouldn't talk to me|refused to speak with me|refuse to speak with me|"
        "will not speak with me|won't speak with me|would not speak with me"
    ),
    anchor="any",
)
_lf(
    "refused_request_broad",
    "problem_solving-",
    _words(
        "refused my|refused our|refused the|refused us|refused any|refused it|denied my|denied our|rejected my|"
        "rejected our|will not accept|won't accept|would not accept|wouldn't accept|refused to accept|"
        "not accepting|no options|no option|offered no|no remedy|no relief|no help|no solution|"
        "never resolved|no one seems to be able|nobody seems to be able|nobody is able|no one is able|"
        "can't help me|cannot help me|can not help me|could not help me|couldn't help me|won't help|"
        "will not help|would not help|wouldn't help|not able to help|unable to help|can't get help|"
        "cannot get help|still can't|still cannot|all in vain|in vain|got nowhere|getting nowhere|"
        "get nowhere|went nowhere|no progress|nothing was done|still waiting|to no avail"
    ),
    anchor="not_thing",
    negated="skip",
)
_lf(
    "third_party_contact",
    "professionalism-",
    _words(
        "called my employer|calling my employer|call my employer|contacted my employer|contacting my employer|"
        "called my job|calling my job|call my job|called my work|calling my work|call my work|called me at work|"
        "calling me at work|call me at work|called my family|calling my family|contacted my family|"
        "call my family|called my references|calling my references|contacted my references|"
        "calling all of my references|called my mother|called my father|called my parents|called my sister|"
        "called my brother|called my neighbors|called my neighbours|my family members|my references|"
        "disclosed my|disclosing my|shared my personal|my personal information|bully|bullied|bullying|"
        "cussing|cussed|curse words|foul language|profanity|vulgar|harassing|harassed|harassment|harrassment|"
        "harrasment|harrasing|harassing phone calls"
    ),
    anchor="not_thing",
    negated="skip",
)
_lf(
    "broken_promise_broad",
    "professionalism-",
    _words(
        "never heard back|never heard from|never heard anything|was never contacted|were never contacted|"
        "never contacted me|nobody called|no one called|never received a call|never got a call|never fulfilled|"
        "never honored|never honoured|did not honor|didn't honor|did not honour|didn't honour|not honored|"
        "went back on|back on their word|gave me their word|their word|never did|never happened|they did not|"
        "they didn't|which they did not|which they didn't|nothing changes|nothing changed"
    ),
    anchor="not_thing",
    negated="skip",
)
_lf(
    "inconsistent_info",
    "expertise-",
    _words(
        "different information|different info|different reasons|different explanations|conflicting|"
        "inconsistent information|inconsistent answers|miscommunication|misspoke|misinformed|"
        "make up their mind|make up their minds|each agent|every agent|each representative|every representative|"
        "each rep|every rep|each time i call|every time i call|every time i called|each time i called|"
        "seems to have any information|seem to have any information|no one seems to know|nobody seems to know|"
        "answer my questions|answer my question|answer any questions|answer any of my questions|"
        "could not explain|couldn't explain|can not explain|cannot explain|can't explain|unable to explain|"
        "not sure why|not sure what|not sure how|unsure|lied to me about|lied about"
    ),
    anchor="not_thing",
    negated="skip",
)
_lf(
    "not_listening_broad",
    "attentiveness-",
    _words(
        "talk over me|talked over me|talking over me|talks over me|get a word in|let me finish|let me explain|"
        "didn't want to hear|did not want to hear|refused to hear|refuse to hear|deaf ears|not hearing me|"
        "keep calling|kept calling|keeps calling|continue to call|continued to call|continues to call|"
        "still calling|still call|asked them to stop|asked them not to call|told them to stop|told them not to call|"
        "requested that they stop|requested they stop|to stop calling|stop calling me|not to call me|"
        "not call me at work|repeatedly asked|repeatedly requested|despite my|despite having|despite me|"
        "disregard|disregarded|disregarding|did not read|didn't read|did not look at|didn't look at|"
        "not the question i asked|same questions|same question|ignores|ignoring my|ignored my"
    ),
    anchor="not_thing",
    negated="skip",
)
_lf(
    "runaround_broad",
    "runaround",
    _words(
        "run a round|run arounds|runarounds|round and round|routed|rerouted|re-routed|different departments|"
        "several departments|multiple departments|many departments|every department|each department|"
        "blame|blamed|blaming|pointed the finger|point the finger|elevated to|escalated to|turned over to|"
        "handed off|handed over to|on their end|on your end|your bank's end|directed to contact|"
        "directed to call|was directed|were directed|told to call|told to contact|need to call|needed to call|"
        "would need to call|have to call|need to contact|needed to contact|would need to contact|"
        "have to contact|had to contact|reach out to|go through|several representatives|four representatives|"
        "three representatives|multiple representatives|different representatives|different reps|several agents|"
        "multiple agents|different agents|several people|multiple people|many people|each person|everyone i spoke"
    ),
    anchor="any",
    # "did not need to call", "no one blamed": a negated cue does not say there was no runaround, and
    # absent votes from a cue list this broad mostly fall on comments that do describe one.
    negated="skip",
)
_lf(
    "hardship_ignored_broad",
    "empathy-",
    _words(
        "explained my situation|explained our situation|explained my circumstances|explained my hardship|"
        "explained the situation|explained this to|explained that i|explained to them|"
        "going through a hardship|financial hardship|hardship|extenuating circumstances|time of need|"
        "begging|begged|pleaded|pleading|i cried|was crying|in tears|without empathy|without compassion|"
        "no compassion|not their problem|my problem|treated me poorly|treated us poorly|poorly treated|"
        "lost my job|single mom|single mother|struggling"
    ),
    anchor="not_thing",
    negated="skip",
)
_lf(
    "unreachable_broad",
    "responsiveness-",
    _words(
        "impossible to get|impossible to reach|impossible to contact|can't reach|cannot reach|can not reach|"
        "could not reach|couldn't reach|unable to reach|unable to get through|can't get through|"
        "couldn't get through|could not get through|can't get anyone|cannot get anyone|couldn't get anyone|"
        "could not get anyone|no one picks up|nobody picks up|never picks up|never answers|voicemail|voice mail|"
        "called several times|called multiple times|called numerous times|called many times|called over|"
        "called every day|calling every day|over and over|countless calls|numerous calls|numerous phone calls|"
        "several calls|multiple calls|many calls|several phone calls|multiple phone calls|calls to their|"
        "on mute|long holds|long hold|return calls|return my calls|returned my calls|ignored my calls|"
        "ignored my emails|ignored my messages|months later|weeks later|still haven't heard|still have not heard"
    ),
    anchor="not_thing",
    negated="skip",
)

# ----------------------------------------------------- comment-level absence
# Labels describe people (guideline rule 1, convention 9).  A comment that names no person, no
# conversation and no manner word is about the room, the price or a company process: every key absent.
# A gate, not a voter: majority vote and the label model both answer "absent" where it fires.
PERSON_WORDS = _set(
    """representative representatives agent agents rep reps employee employees staff stuff manager managers
    management supervisor supervisors he she him her someone somebody person people lady guy man woman spoke speak
    speaking talked talk talking phone clerk clerks receptionist receptionists reception desk concierge waiter
    waiters waitress bartender bartenders team associate associates officer officers teller tellers operator
    nobody everyone personnel helpful unhelpful friendly unfriendly rude polite hold conversation chat hung
    transferred host hostess housekeeping maid porter doorman chef server servers employee"""
)


def _no_staff(taxonomy: Taxonomy) -> LabelingFunction:
    keys = tuple(taxonomy.keys)

    def vote(text: str, clauses) -> list[Vote]:
        if not clauses or any(c.norms[i] in PERSON_WORDS for c in clauses for i in range(c.start, c.end)):
            return []
        if any(c.norms[i] == "no" and c.norms[i + 1] == "one" for c in clauses for i in range(c.start, c.end - 1)):
            return []
        return [Vote(k, 0, 0, len(text)) for k in keys]

    return CommentLF("no_staff_mentioned.v1", keys, vote, gate=True)


registry.lf("no_staff_mentioned.v1", _no_staff, gate=True)
BUILTIN_NAMES.add("no_staff_mentioned.v1")
