"""Draw the annotation pool from ../shared/corpora (re-runnable, seeded).

Random sampling alone yields few examples of the rare labels (condescension,
robotism, rulebook...), so the pool mixes a random slice, which keeps the
natural share of comments with no label, with keyword-targeted slices per
label.  Matching a keyword only makes a comment a *candidate*: every comment
is then read and labeled by hand, so a cue that does not carry the label in
context simply yields a negative example (which the model needs too).

Output: data/annotation/pool.jsonl with id, source, text and the strategy that
drew the comment (``random`` or ``kw:<label>``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

CORPORA = {
    "hotel_reviews_515k": "hotel_reviews_515k/hotel_reviews_515k_subset.jsonl.gz",
    "cfpb_narratives": "cfpb_narratives/cfpb_narratives_subset.jsonl.gz",
}
# Long CFPB narratives are costly to read in full; the pool keeps those up to
# this many characters (about 88 % of the corpus).  The tagger itself handles
# any length.
MAX_CHARS = 2500

# Candidate cues per label.  Deliberately broad: precision comes from reading.
CUES: dict[str, str] = {
    "proactivity+": r"went out of (?:his|her|their) way|\boffered\b|suggested|recommend|upgraded us|without (?:us )?(?:even )?asking|anticipat|followed up|follow(?:ed)? up",
    "proactivity-": r"had to (?:chase|keep calling|call (?:them|back) (?:again|several)|ask (?:them|for) (?:again|several))|never (?:explained|told|informed|mentioned)|did ?n[o']t (?:explain|inform|tell us|mention)|no one (?:told|informed|explained)",
    "expertise+": r"knowledgeable|explained (?:everything|clearly|the|in detail)|\bexpert|knew (?:a lot|everything|the area|what)|great advice|good advice|tips",
    "expertise-": r"(?:wrong|incorrect|conflicting|contradictory|different|false|misleading) (?:information|info|answers?)|did ?n[o']t know|no idea|clueless|misinform|incompeten|not trained|untrained",
    "passion+": r"enthusias|passion|love[sd]? (?:their|his|her) (?:job|work)|energetic|genuine|above and beyond|\bzeal|proud",
    "passion-": r"\bbored|disinterested|uninterested|going through the motions|miserable|unenthusiastic|joyless|sullen|grumpy|no smile|never smil|without a smile|lazy",
    "friendliness-": r"unfriendly|\brude|impolite|unwelcom|not (?:very |at all |really )?friendly|unpleasant|less than friendly",
    "empathy+": r"understanding|compassion|sympath|reassur|cared about|caring|personal touch|apologi[sz]ed|so sorry|kindness",
    "empathy-": r"no (?:sympathy|compassion|empathy)|heartless|insensitive|no understanding|did ?n[o']t care|not care about|inhumane|callous",
    "patience+": r"\bpatien(?:t|ce)|took (?:his|her|their) time|no pressure|never rushed|didn'?t rush|calm",
    "patience-": r"impatien|\brushed|pushy|pressur|upsell|up sell|hurried|irritated|annoyed|rolled (?:his|her) eyes|sigh",
    "attentiveness+": r"attentive|remembered|noticed|greeted|check(?:ed)? (?:in|on) (?:us|me)|listened|attention to detail",
    "attentiveness-": r"ignor|inattentive|on (?:his|her|their) (?:mobile|cell)? ?phones?|chatting|did ?n[o']t listen|not listening|no one (?:came|greeted)|nobody (?:came|greeted)|not acknowledged",
    "professionalism+": r"\bprofessional(?:ly|ism)?\b|discreet|reliable|well presented|immaculate",
    "professionalism-": r"unprofessional|\bargu|\bswore|cursed|cursing|gossip|\byell|scream|\blied\b|lying|promised|said (?:they|he|she) would call|never called (?:me )?back|call(?:ed)? me back|shouted",
    "problem_solving-": r"unhelpful|not (?:very |at all )?helpful|no help|did ?n[o']t help|refused to help|unable to (?:help|resolve)|could ?n[o']t help|not resolved|still (?:not|has not|hasn'?t) been resolved|nothing was done",
    "responsiveness+": r"\bquick(?:ly)?\b|\bprompt(?:ly)?\b|immediately|straight away|responsive|right away|in no time|within minutes",
    "responsiveness-": r"on hold|wait(?:ed|ing) (?:for )?(?:over |more than |almost )?(?:an|\d+|two|three|several) (?:hours?|minutes?|mins)|slow service|\bslow\b|never (?:responded|replied|got back)|no response|took ages|took forever|long wait|queue",
    "apathy": r"did ?n[o']t (?:seem to )?care|don'?t care|could ?n[o']t care|could not care|indifferen|could ?n[o']t be bothered|not bothered|did ?n[o']t bother|not my (?:job|problem)|shrug|care less|nonchalant|inconvenienc",
    "brush_off": r"hung up|hang up|dismiss|brushed (?:me |us )?off|fobbed|nothing (?:they|we|he|she|I) (?:can|could) do|cut (?:me|us) off|told (?:me|us) to (?:leave|go away)|walked away|brush off|blew (?:me|us) off|get rid of",
    "coldness": r"\brude|\bcurt\b|\bcold(?:ly)? (?:staff|reception|welcome|and|attitude|manner|receptionist)|snapped|hostile|glared|nasty|abrupt|attitude|short with|arrogant",
    "condescension": r"condescend|patroni[sz]|talked down|talk down|talking down|like (?:an? )?(?:idiot|child|stupid|fool|criminal|liar)|belittl|\bmock|laughed at|smirk|sarcas|superior attitude|stupid",
    "robotism": r"robot|script|canned|automated|template|form letter|copy and paste|same (?:response|answer|thing|letter) over|like a machine|recorded message|generic (?:response|answer|letter|email)|boilerplate|same response",
    "rulebook": r"\bpolic(?:y|ies)\b|\brules\b|procedure|protocol|exception|not allowed|inflexib|by the book|\bstrict",
    "runaround": r"transferred|transfer(?:ring)? (?:me|my call|us)|runaround|run around|run-around|passed (?:me |us )?(?:around|from|back)|bounced|another department|different department|(?:another|a different|other) number|desk to desk|department to department|someone else|back and forth",
}
# How many candidates to draw per label and corpus (hotel, cfpb).  Set from
# where each behaviour is actually described (see corpora/README.md): staff
# praise is in the hotel reviews, call-centre sins are in CFPB.
QUOTA: dict[str, tuple[int, int]] = {
    "proactivity+": (60, 30),
    "proactivity-": (15, 70),
    "expertise+": (50, 20),
    "expertise-": (20, 70),
    "passion+": (60, 10),
    "passion-": (60, 5),
    "friendliness-": (60, 30),
    "empathy+": (40, 30),
    "empathy-": (15, 60),
    "patience+": (40, 20),
    "patience-": (40, 40),
    "attentiveness+": (60, 10),
    "attentiveness-": (50, 40),
    "professionalism+": (40, 20),
    "professionalism-": (30, 70),
    "problem_solving-": (40, 60),
    "responsiveness+": (40, 20),
    "responsiveness-": (40, 50),
    "apathy": (30, 60),
    "brush_off": (20, 70),
    "coldness": (50, 40),
    "condescension": (20, 60),
    "robotism": (5, 70),
    "rulebook": (30, 70),
    "runaround": (10, 80),
}
RANDOM = {"hotel_reviews_515k": 800, "cfpb_narratives": 350}


def read_corpus(root: Path, name: str) -> list[dict]:
    with gzip.open(root / CORPORA[name], "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    seen, out = set(), []
    for r in rows:
        if r["id"] in seen or not r["text"].strip() or len(r["text"]) > MAX_CHARS:
            continue
        seen.add(r["id"])
        out.append({"id": r["id"], "source": name, "text": r["text"]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "corpora")
    ap.add_argument("--out", type=Path, default=Path("data/annotation/pool.jsonl"))
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument(
        "--round2",
        nargs="*",
        default=None,
        metavar="LABEL",
        help="draw a second, purely targeted round for these labels, excluding the existing pool",
    )
    ap.add_argument("--quota", type=int, default=70, help="round 2: candidates per label")
    ap.add_argument(
        "--round3",
        action="store_true",
        help="draw a third round (train-only data) excluding pool.jsonl and pool_round2.jsonl",
    )
    ap.add_argument(
        "--round4",
        type=Path,
        default=None,
        metavar="MODEL",
        help="draw a fourth round (train-only data) where MODEL is unsure, excluding every earlier pool",
    )
    args = ap.parse_args()
    if args.round2 is not None:
        return round2(args)
    if args.round3:
        return round3(args)
    if args.round4:
        return round4(args)
    rng = random.Random(args.seed)
    pool: dict[str, dict] = {}
    corpora = {name: read_corpus(args.corpora, name) for name in CORPORA}
    for name, rows in corpora.items():
        for r in rng.sample(rows, RANDOM[name]):
            pool[r["id"]] = {**r, "strategy": "random"}
    for label, pattern in CUES.items():
        rx = re.compile(pattern, re.IGNORECASE)
        for name, quota in zip(CORPORA, QUOTA[label], strict=True):
            hits = [r for r in corpora[name] if r["id"] not in pool and rx.search(r["text"])]
            for r in rng.sample(hits, min(quota, len(hits))):
                pool[r["id"]] = {**r, "strategy": f"kw:{label}"}
    rows = list(pool.values())
    rng.shuffle(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    n_cfpb = sum(r["source"] == "cfpb_narratives" for r in rows)
    chars = sum(len(r["text"]) for r in rows)
    print(f"{len(rows)} comments ({n_cfpb} CFPB), {chars:,} characters -> {args.out}")


# Round 2 cues: narrower than CUES (the broad ones are spent), aimed at
# phrasings that carried these labels in round 1.
CUES_R2: dict[str, str] = {
    "expertise+": r"knowledgeable|explained|expert|advice|tips|knew|recommendations|informative|well informed",
    "passion+": r"enthusias|passion|love[sd]? (?:their|his|her) (?:job|work)|energetic|genuine|above and beyond|\bzeal|proud|cheerful|eager|happy to help|with a smile|went the extra mile|extra mile",
    "passion-": r"\bbored|disinterested|uninterested|motions|miserable|unenthusiastic|joyless|sullen|grumpy|no smile|never smil|without a smile|lazy|could not be bothered|sour|moody|unmotivated|fed up",
    "empathy+": r"understanding|compassion|sympath|reassur|cared|caring|personal touch|very apologetic|so sorry|kindness|birthday|anniversary|honeymoon|sick|ill\b|hospital|sorry for|felt at home|comforting",
    "patience+": r"patien|took (?:his|her|their|the) time|no pressure|never rushed|did ?n[o']t rush|calm|explained .* again|answered all|all our questions|every question",
    "patience-": r"impatien|\brushed|pushy|pressur|upsell|up sell|upsale|hurried|irritated|annoyed|rolled (?:his|her) eyes|sigh|hard sell|aggressive|tried to sell|hassle",
    "professionalism+": r"\bprofessional|discreet|reliable|well presented|immaculate|courteous and|handled|dealt with .* (?:well|quickly|promptly)|competent",
    "condescension": r"condescend|patroni[sz]|talked down|talk down|talking down|like (?:an? )?(?:idiot|child|stupid|fool|criminal|liar|dumb)|belittl|\bmock|laughed|smirk|sarcas|superior|snob|snooty|arrogan|looked down|judg(?:ed|ing)|demeaning|insult|degrad|embarrass|humiliat",
    "robotism": r"robot|script|canned|automated|template|form letter|copy and paste|same (?:response|answer|thing|letter)|like a machine|recorded|generic|boilerplate|verbatim|repeat(?:ed|ing) the same|word for word|standard response|cookie cutter",
}


def write_round(rows: dict[str, dict], rng: random.Random, path: Path) -> None:
    """Write a later round's pool, shuffled, and say how much reading it is."""
    out = list(rows.values())
    rng.shuffle(out)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    print(f"{len(out)} comments, {sum(len(r['text']) for r in out):,} characters -> {path}")


def round2(args) -> None:
    rng = random.Random(args.seed + 2)
    taken = {json.loads(line)["id"] for line in args.out.open(encoding="utf-8")}
    corpora = {name: read_corpus(args.corpora, name) for name in CORPORA}
    rows: dict[str, dict] = {}
    for label in args.round2:
        rx = re.compile(CUES_R2[label], re.IGNORECASE)
        hits = [
            r
            for rs in corpora.values()
            for r in rs
            if r["id"] not in taken and r["id"] not in rows and rx.search(r["text"])
        ]
        for r in rng.sample(hits, min(args.quota, len(hits))):
            rows[r["id"]] = {**r, "strategy": f"kw2:{label}"}
        print(f"{label}: {len(hits)} candidates")
    write_round(rows, rng, args.out.with_name("pool_round2.jsonl"))


# Round 3 (session 3): more training data where the default model is weakest.  Per-label quotas
# favour the keys with the lowest dev F1 and the fewest train examples; friendliness+ and
# problem_solving+ are already plentiful and get no targeted slice.  A random slice keeps
# comments with no label in the mix.
QUOTA_R3: dict[str, int] = {
    "proactivity+": 30,
    "proactivity-": 40,
    "expertise+": 35,
    "expertise-": 40,
    "passion+": 35,
    "passion-": 35,
    "friendliness-": 25,
    "empathy+": 35,
    "empathy-": 45,
    "patience+": 35,
    "patience-": 45,
    "attentiveness+": 35,
    "attentiveness-": 45,
    "professionalism+": 30,
    "professionalism-": 40,
    "problem_solving-": 25,
    "responsiveness+": 35,
    "responsiveness-": 40,
    "apathy": 40,
    "brush_off": 40,
    "coldness": 25,
    "condescension": 45,
    "robotism": 40,
    "rulebook": 45,
    "runaround": 35,
}
RANDOM_R3 = {"hotel_reviews_515k": 180, "cfpb_narratives": 100}


def round3(args) -> None:
    rng = random.Random(args.seed + 3)
    taken = {
        json.loads(line)["id"]
        for f in ("pool.jsonl", "pool_round2.jsonl")
        for line in args.out.with_name(f).open(encoding="utf-8")
    }
    corpora = {name: read_corpus(args.corpora, name) for name in CORPORA}
    rows: dict[str, dict] = {}
    for name, rs in corpora.items():
        free = [r for r in rs if r["id"] not in taken]
        for r in rng.sample(free, RANDOM_R3[name]):
            rows[r["id"]] = {**r, "strategy": "random3"}
    for label, quota in QUOTA_R3.items():
        pattern = CUES[label] + ("|" + CUES_R2[label] if label in CUES_R2 else "")
        rx = re.compile(pattern, re.IGNORECASE)
        hits = [
            r
            for rs in corpora.values()
            for r in rs
            if r["id"] not in taken and r["id"] not in rows and rx.search(r["text"])
        ]
        for r in rng.sample(hits, min(quota, len(hits))):
            rows[r["id"]] = {**r, "strategy": f"kw3:{label}"}
        print(f"{label}: {len(hits)} candidates")
    write_round(rows, rng, args.out.with_name("pool_round3.jsonl"))


# Round 4 (session 13): uncertainty sampling.  After three rounds of keyword slices, the comments that
# teach the model most are the ones it cannot decide: per key, half the quota comes from comments whose
# calibrated score sits near the key's decision threshold (within 1.5 in log-odds), half from comments
# that match the key's cues but score below that band (what the model misses).  Quotas favour the keys
# with the lowest dev F1 and the frequent keys whose precision is lowest (professionalism-, expertise-,
# responsiveness-, brush_off); earlier rounds used up the cues of the rarest keys (no comment left in the
# corpora says "enthusiastic", "patient" or "condescending"), so those get what the model's scores find.
# A random slice keeps the natural share of comments with no label.
QUOTA_R4: dict[str, int] = {
    "proactivity+": 40,
    "proactivity-": 50,
    "expertise+": 45,
    "expertise-": 70,
    "passion+": 20,
    "passion-": 20,
    "empathy+": 45,
    "empathy-": 40,
    "patience+": 20,
    "patience-": 50,
    "attentiveness-": 50,
    "professionalism-": 80,
    "problem_solving+": 40,
    "problem_solving-": 40,
    "responsiveness+": 30,
    "responsiveness-": 60,
    "apathy": 40,
    "brush_off": 60,
    "condescension": 30,
    "robotism": 30,
    "rulebook": 55,
    "runaround": 45,
}
RANDOM_R4 = {"hotel_reviews_515k": 100, "cfpb_narratives": 60}
BAND = 1.5


def round4(args) -> None:
    import numpy as np

    from cxnlp import Tagger

    rng = random.Random(args.seed + 4)
    taken = {
        json.loads(line)["id"]
        for f in ("pool.jsonl", "pool_round2.jsonl", "pool_round3.jsonl")
        for line in args.out.with_name(f).open(encoding="utf-8")
    }
    free = [r for name in CORPORA for r in read_corpus(args.corpora, name) if r["id"] not in taken]
    tagger = Tagger.load(args.round4)
    model = tagger.model
    probs = np.clip(tagger.predict_proba([r["text"] for r in free]), 1e-6, 1 - 1e-6)
    logit = np.log(probs / (1 - probs))
    rows: dict[str, dict] = {}
    for name in CORPORA:
        rs = [r for r in free if r["source"] == name]
        for r in rng.sample(rs, RANDOM_R4[name]):
            rows[r["id"]] = {**r, "strategy": "random4"}
    for label, quota in QUOTA_R4.items():
        j = model.index[label]
        t = float(model.thresholds[j])
        near = np.abs(logit[:, j] - np.log(t / (1 - t))) <= BAND
        low = logit[:, j] < np.log(t / (1 - t)) - BAND
        cues = "|".join(c[label] for c in (CUES, CUES_R2) if label in c)
        cue = [bool(cues) and re.search(cues, r["text"], re.IGNORECASE) is not None for r in free]
        band = [i for i in np.flatnonzero(near) if free[i]["id"] not in rows]
        missed = [i for i in np.flatnonzero(low) if free[i]["id"] not in rows and cue[i]]
        got = 0
        # Half near the threshold, half missed; a short list leaves its share to the other, and where
        # both run short (the rarest keys) cued comments the model already tags fill the rest: read,
        # they confirm positives or expose false ones.
        for strategy, want in (("unsure4", quota // 2), ("missed4", quota), ("unsure4", quota), ("cued4", quota)):
            if strategy == "cued4":
                pool = [i for i in range(len(free)) if cue[i]]
            else:
                pool = band if strategy == "unsure4" else missed
            pool = [i for i in pool if free[i]["id"] not in rows]
            for i in rng.sample(pool, max(0, min(want - got, len(pool)))):
                rows[free[i]["id"]] = {**free[i], "strategy": f"{strategy}:{label}"}
                got += 1
        print(f"{label}: {len(band)} near the threshold, {len(missed)} cued below it, {got} drawn")
    write_round(rows, rng, args.out.with_name("pool_round4.jsonl"))


if __name__ == "__main__":
    main()
