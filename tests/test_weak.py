"""Weak supervision: LF votes (negation, contrast, anchors), the label model, analysis, CLI, training hook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cxnlp.cli import app
from cxnlp.data import read_jsonl, validate_record
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segmenter
from cxnlp.training import Examples, TrainConfig
from cxnlp.weak import LabelModel, Votes, WeakLabeler, build_lfs, labeling_function, majority_vote, registry
from cxnlp.weak.analysis import html_report, key_summary, lf_summary
from cxnlp.weak.corpus import add_weak_examples

runner = CliRunner()
TAX = Taxonomy.default()


@pytest.fixture(scope="module")
def labeler() -> WeakLabeler:
    return WeakLabeler()


def votes_of(labeler: WeakLabeler, text: str) -> tuple[set[str], set[str], Votes]:
    v = labeler.apply([text])
    present = {k for j, (_, k) in enumerate(v.sources) if v.L[0, j] == 1}
    absent = {k for j, (_, k) in enumerate(v.sources) if v.L[0, j] == 0} - present
    return present, absent, v


# (sentence, keys that must get a "present" vote, keys that must not)
CASES = [
    # negation scope
    ("The receptionist was rude.", {"coldness", "friendliness-"}, set()),
    ("The staff were not rude at all.", set(), {"coldness", "friendliness-"}),
    ("No one was friendly.", {"friendliness-"}, {"friendliness+"}),
    ("The staff were never unhelpful.", set(), {"problem_solving-"}),
    ("Nobody greeted us at the desk.", {"attentiveness-"}, {"attentiveness+"}),
    ("The staff never greeted us and ignored us all evening.", {"attentiveness-"}, {"attentiveness+"}),
    ("The agent was not helpful at all.", {"problem_solving-"}, {"problem_solving+"}),
    ("The staff were not very knowledgeable.", {"expertise-"}, {"expertise+"}),
    ("The staff wasn t friendly at all", {"friendliness-", "coldness"}, {"friendliness+"}),
    ("Not a single member of staff smiled.", {"friendliness-"}, {"friendliness+"}),
    ("They did not care about my situation at all.", {"apathy", "empathy-"}, {"empathy+"}),
    ("No pressure at all, she took her time with us.", {"patience+"}, {"patience-"}),
    # pseudo-negation: not a negation
    ("They could not have been more helpful.", {"problem_solving+"}, {"problem_solving-"}),
    ("I have never met such friendly staff.", {"friendliness+"}, {"friendliness-"}),
    ("Not only friendly but also very helpful.", {"friendliness+", "problem_solving+"}, {"friendliness-"}),
    ("Nothing was too much trouble for the staff.", {"problem_solving+"}, {"problem_solving-"}),
    # contrast: each clause votes on its own
    ("Friendly but clueless.", {"friendliness+", "expertise-"}, set()),
    ("The staff were friendly but the manager was rude.", {"friendliness+", "coldness"}, set()),
    ("The staff were polite however very slow.", {"friendliness+", "responsiveness-"}, set()),
    ("The shower water was cold but the staff were lovely.", {"friendliness+"}, {"coldness"}),
    # anchors: the cue must be said about people
    ("The room was cold.", set(), {"coldness"}),
    ("The room was nice and the bed was lovely.", set(), {"friendliness+"}),
    ("The receptionist was really nice.", {"friendliness+"}, set()),
    ("The wifi was slow.", set(), {"responsiveness-"}),
    ("Staff very friendly Room was small", {"friendliness+"}, {"friendliness-"}),
    ("The waiter was friendly and attentive.", {"friendliness+", "attentiveness+"}, set()),
    ("I hung up and called back later.", set(), {"brush_off"}),
    # sins and patterns
    ("The agent hung up on me.", {"brush_off"}, set()),
    ("We were on hold for two hours.", {"responsiveness-"}, set()),
    ("I was transferred five times and nobody could help me.", {"runaround", "problem_solving-"}, set()),
    ("She said it's our policy and refused to make an exception.", {"rulebook"}, set()),
    ("The manager was very condescending and treated me like an idiot.", {"condescension"}, set()),
    ("All I got was a canned response.", {"robotism"}, set()),
    ("Such caring staff.", {"empathy+"}, {"empathy-"}),
    # broad call-centre cues (``*_broad`` and friends)
    ("She said it had to be paid in full before they could help.", {"rulebook"}, set()),
    ("I paid the loan in full last year.", set(), {"rulebook"}),  # no one said it: not a rule cited
    ("They laughed and hung up on me.", {"brush_off"}, set()),
    ("He refused to transfer me to a supervisor.", {"brush_off"}, set()),
    ("They refused my refund request twice.", {"problem_solving-"}, set()),
    ("They keep calling my work and my family members.", {"professionalism-", "attentiveness-"}, set()),
    ("I was told someone would call me, but I never heard back.", {"professionalism-"}, set()),
    ("Each representative gave me different information.", {"expertise-"}, set()),
    ("The agent kept talking over me.", {"attentiveness-"}, set()),
    ("I was told to call another department and then routed to a third.", {"runaround"}, set()),
    ("I did not need to call anyone else and nobody blamed me.", set(), {"runaround"}),
    ("I explained my situation and he said it was not their problem.", {"empathy-"}, set()),
    ("It is impossible to reach anyone, every call goes to voicemail.", {"responsiveness-"}, set()),
]


@pytest.mark.parametrize(("text", "want", "not_want"), CASES, ids=[c[0][:40] for c in CASES])
def test_votes_negation_contrast_anchors(labeler: WeakLabeler, text: str, want: set, not_want: set) -> None:
    present, _, _ = votes_of(labeler, text)
    assert want <= present, f"missing {want - present}"
    assert not (not_want & present), f"unexpected {not_want & present}"


def test_at_least_twenty_hand_written_cases() -> None:
    assert len(CASES) >= 20
    assert sum(1 for _, w, n in CASES if n) >= 10  # many cases say which keys must *not* be voted


def test_negated_negative_cue_votes_absent(labeler: WeakLabeler) -> None:
    present, absent, _ = votes_of(labeler, "The staff were not rude at all.")
    assert "coldness" in absent and "coldness" not in present


def test_evidence_is_the_clause_with_offsets_into_the_original(labeler: WeakLabeler) -> None:
    text = "Friendly but clueless."
    _, _, v = votes_of(labeler, text)
    spans = {v.sources[j][1]: [text[s:e] for s, e in sp] for j, sp in v.evidence[0].items()}
    assert spans["friendliness+"] == ["Friendly"]
    assert spans["expertise-"] == ["clueless."]
    raw = "Lovely hotel\nthe staff wasn t friendly at all"  # apostrophes restored internally, offsets unchanged
    _, _, v = votes_of(labeler, raw)
    j = v.sources.index(("friendly_staff.v1", "friendliness-"))
    (s, e), *_ = v.evidence[0][j]
    assert raw[s:e] == "the staff wasn t friendly at all"


def test_empty_and_missing_text_abstain(labeler: WeakLabeler) -> None:
    v = labeler.apply(["", None, float("nan")])  # type: ignore[list-item]
    assert (v.L == -1).all()


def test_lf_names_are_versioned_and_unique() -> None:
    lfs = build_lfs(TAX)
    names = lfs.names
    assert len(names) == len(set(names))
    assert all(n.rsplit(".", 1)[-1].startswith("v") for n in names)
    covered = {k for lf in lfs.lfs for k in lf.keys}
    assert covered == set(TAX.keys)
    with pytest.raises(ValueError, match="version"):
        registry.lf("no_version")


def test_custom_taxonomy_and_user_lf() -> None:
    tax = Taxonomy.from_dict(
        {
            "name": "custom",
            "version": "1",
            "labels": [
                {"name": "grumpiness", "kind": "sin", "description": "grumpy staff", "cues": ["grumpy", "sulky"]},
                {"name": "escalation", "kind": "sin", "description": "asked for a manager"},
            ],
        }
    )

    @labeling_function("asked_for_manager.v1", keys=["escalation"], phrases=["speak to a manager"])
    def asked_for_manager(clause, matches):
        return [clause.vote("escalation")]

    try:
        wl = WeakLabeler(build_lfs(tax))
        v = wl.apply(["The clerk was grumpy.", "I asked to speak to a manager.", "The room was grumpy."])
        got = [{k for j, (_, k) in enumerate(v.sources) if v.L[i, j] == 1} for i in range(3)]
        assert got == [{"grumpiness"}, {"escalation"}, set()]
        assert "taxonomy_cues.grumpiness.v1" in wl.lfset.names  # LFs made from the taxonomy's own cues
    finally:
        registry.unregister("asked_for_manager.v1")


# ------------------------------------------------------------------ label model
ONE = Taxonomy.from_dict({"name": "t", "version": "1", "labels": [{"name": "x", "kind": "sin", "description": "d"}]})
# P(abstain, absent, present | y) for 5 LFs: three one-sided, two that also vote "absent".
THETA1 = np.array([[0.35, 0.05, 0.60], [0.50, 0.00, 0.50], [0.55, 0.05, 0.40], [0.70, 0.00, 0.30], [0.25, 0.05, 0.70]])
THETA0 = np.array([[0.90, 0.08, 0.02], [0.95, 0.00, 0.05], [0.89, 0.10, 0.01], [0.97, 0.00, 0.03], [0.85, 0.05, 0.10]])


def synthetic(n: int, prior: float, seed: int = 0) -> tuple[Votes, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prior
    L = np.empty((n, len(THETA1)), np.int8)
    for j in range(len(THETA1)):
        u = rng.random(n)
        for cls, th in ((True, THETA1[j]), (False, THETA0[j])):
            c = np.cumsum(th)
            m = y == cls
            L[m, j] = np.where(u[m] < c[0], -1, np.where(u[m] < c[1], 0, 1))
    return Votes([(f"lf{j}.v1", "x") for j in range(len(THETA1))], L, [{} for _ in range(n)]), y


def true_precision(prior: float) -> np.ndarray:
    return prior * THETA1[:, 2] / (prior * THETA1[:, 2] + (1 - prior) * THETA0[:, 2])


def test_label_model_recovers_known_lf_accuracies_without_labels() -> None:
    votes, _ = synthetic(20_000, 0.1)
    lm = LabelModel(ONE, class_prior_weight=0).fit(votes)  # plain maximum-likelihood Dawid-Skene
    km = lm.models["x"]
    assert abs(km.prior - 0.1) < 0.02
    assert np.abs(km.theta[:, 1, :] - THETA1).max() < 0.05  # P(outcome | y=1), every LF and outcome
    assert np.abs(km.theta[:, 0, :] - THETA0).max() < 0.05  # P(outcome | y=0)
    est = np.array([s["precision"] for s in km.lf_stats()])
    assert np.abs(est - true_precision(0.1)).max() < 0.05  # the precision of each LF's present votes


def test_label_model_anchored_on_labels_recovers_accuracies_with_defaults() -> None:
    votes, _ = synthetic(20_000, 0.1, seed=1)
    dev, y_dev = synthetic(1000, 0.1, seed=2)
    lm = LabelModel(ONE).fit(votes, dev, y_dev[:, None].astype(int))
    km = lm.models["x"]
    assert np.abs(km.theta[:, 1, :] - THETA1).max() < 0.05
    assert np.abs(km.theta[:, 0, :] - THETA0).max() < 0.05
    assert np.abs(np.array([s["precision"] for s in km.lf_stats()]) - true_precision(0.1)).max() < 0.05


def test_label_model_beats_majority_vote_and_is_calibrated_on_synthetic_data() -> None:
    votes, y = synthetic(20_000, 0.1, seed=3)
    lm = LabelModel(ONE, class_prior_weight=0).fit(votes)
    p = lm.predict_proba(votes)[:, 0]
    mv = majority_vote(votes, ["x"])[:, 0].astype(bool)

    def f1(pred: np.ndarray) -> float:
        return 2 * (pred & y).sum() / (pred.sum() + y.sum())

    assert f1(p >= lm.fit_thresholds(votes)[0]) > f1(mv)
    bins = np.digitize(p, np.linspace(0, 1, 11)[1:-1])
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean() for b in set(bins.tolist()))
    assert ece < 0.03


def test_one_sided_sparse_key_does_not_collapse() -> None:
    rng = np.random.default_rng(0)
    L = np.where(rng.random((5000, 1)) < 0.01, 1, -1).astype(np.int8)  # one LF, fires on 1 %
    votes = Votes([("only.v1", "x")], L, [{} for _ in range(5000)])
    p = LabelModel(ONE).fit(votes).predict_proba(votes)[:, 0]
    assert p[L[:, 0] == 1].min() > 0.3  # plain EM would drift to "x never occurs"
    assert p[L[:, 0] == -1].max() < 0.05


def test_related_key_votes_are_evidence_for_the_key() -> None:
    # problem_solving- is present whenever runaround is (convention 13); its own LF finds 40 % of it, the
    # runaround LF finds 80 % of the runarounds.  A runaround vote alone should then say problem_solving-.
    rng = np.random.default_rng(0)
    n = 20_000
    ps = rng.random(n) < 0.1
    ra = ps & (rng.random(n) < 0.5)
    own = np.where(ps & (rng.random(n) < 0.4), 1, np.where(~ps & (rng.random(n) < 0.002), 1, -1))
    ra_lf = np.where(ra & (rng.random(n) < 0.8), 1, np.where(~ra & (rng.random(n) < 0.001), 1, -1))
    ra_lf2 = np.where(ra & (rng.random(n) < 0.5), 1, -1)
    L = np.stack([own, ra_lf, ra_lf2], axis=1).astype(np.int8)
    sources = [("own.v1", "problem_solving-"), ("ra.v1", "runaround"), ("ra2.v1", "runaround")]
    votes = Votes(sources, L, [{} for _ in range(n)])
    k = list(TAX.keys).index("problem_solving-")
    only_ra = (own == -1) & (ra_lf == 1) & (ra_lf2 == 1)
    with_rel = LabelModel(TAX).fit(votes)
    assert with_rel.models["problem_solving-"].related == ["runaround"]
    p = with_rel.predict_proba(votes)[:, k]
    p0 = LabelModel(TAX, related={}).fit(votes).predict_proba(votes)[:, k]
    # Two sources for the key are not enough to identify it without labels, so the posterior stays modest
    # (about 0.3 here, the true value is 1); without the related key it is the base rate.
    assert p[only_ra].min() > 0.2 > 0.05 > p0[only_ra].max()
    assert p[(own == -1) & (ra_lf == -1) & (ra_lf2 == -1)].max() < 0.1
    assert any(st["lf"] == "key:runaround" for st in with_rel.lf_stats())


def test_majority_vote_and_implications() -> None:
    votes = Votes(
        [("a.v1", "coldness"), ("b.v1", "coldness"), ("c.v1", "friendliness+")],
        np.array([[1, 0, -1], [1, -1, -1], [-1, -1, 1]], np.int8),
        [{}, {}, {}],
    )
    mv = majority_vote(votes, list(TAX.keys), TAX)
    k = {key: i for i, key in enumerate(TAX.keys)}
    assert mv[:, k["coldness"]].tolist() == [0, 1, 0]  # a tie is not a majority
    assert mv[:, k["friendliness-"]].tolist() == [0, 1, 0]  # coldness implies friendliness-
    assert mv[:, k["friendliness+"]].tolist() == [0, 0, 1]


def test_label_model_save_load_round_trip(tmp_path: Path, labeler: WeakLabeler) -> None:
    texts = ["The receptionist was rude.", "Friendly but clueless.", "Room was small.", "Very helpful staff."] * 5
    votes = labeler.apply(texts)
    lm = LabelModel(TAX).fit(votes)
    lm.fit_thresholds(votes)
    lm.save(tmp_path / "lm.json")
    again = LabelModel.load(tmp_path / "lm.json", TAX)
    assert again.models["problem_solving-"].related == lm.models["problem_solving-"].related
    assert np.allclose(lm.predict_proba(votes), again.predict_proba(votes))
    assert np.array_equal(lm.predict(votes), again.predict(votes))


# ------------------------------------------------------------------------ gates
def test_gate_is_declared_in_the_registry_and_only_rules_keys_out() -> None:
    from cxnlp.weak import CommentLF, Vote

    tax = ONE

    def scope(text, clauses):  # out of scope: no "clerk"; a present vote from a gate is dropped
        return [Vote("x", 0, 0, len(text))] if "clerk" not in text else [Vote("x", 1, 0, len(text))]

    registry.lf("test_scope.v1", lambda t: CommentLF("test_scope.v1", ["x"], scope), gate=True)
    try:
        lfset = build_lfs(tax, names=["test_scope.v1"])
        assert lfset.lfs[0].gate and registry.is_gate("test_scope.v1")
        v = WeakLabeler(lfset).apply(["The room was small.", "The clerk was fine."])
        assert v.gates == frozenset({"test_scope.v1"})
        assert v.voters("x") == [] and v.columns("x") == [0]
        assert v.gated("x").tolist() == [True, False]
        assert v.L[:, 0].tolist() == [0, -1]  # the gate's present vote is not recorded
        assert v.subset([1]).gates == v.gates
    finally:
        registry.unregister("test_scope.v1")
    assert not registry.is_gate("test_scope.v1")


def test_no_staff_mentioned_is_a_gate(labeler: WeakLabeler) -> None:
    assert "no_staff_mentioned.v1" in labeler.apply(["x"]).gates
    v = labeler.apply(["The room was tiny and the wifi slow.", "The receptionist was rude."])
    assert v.gated("coldness").tolist() == [True, False]
    assert all(v.sources[j][0] != "no_staff_mentioned.v1" for j in v.voters("coldness"))


def gated_votes(n: int = 20_000, seed: int = 0) -> tuple[Votes, np.ndarray, np.ndarray]:
    """Synthetic votes (THETA1/THETA0) with a gate that rules out 60 % of the negatives."""
    votes, y = synthetic(n, 0.15, seed=seed)
    gate = ~y & (np.random.default_rng(seed + 100).random(n) < 0.6)
    L = np.concatenate([votes.L, np.where(gate, 0, -1)[:, None].astype(np.int8)], axis=1)
    sources = votes.sources + [("gate.v1", "x")]
    return Votes(sources, L, [{} for _ in range(n)], frozenset({"gate.v1"})), y, gate


def test_gate_decides_before_majority_vote_and_label_model() -> None:
    votes, y, gate = gated_votes()
    lm = LabelModel(ONE, class_prior_weight=0).fit(votes)
    km = lm.models["x"]
    assert km.names == [f"lf{j}.v1" for j in range(len(THETA1))]  # the gate is no voter, has no rates
    p = lm.predict_proba(votes)[:, 0]
    assert np.allclose(p[gate], lm.gate_prob)
    two = gate & ((votes.L[:, :-1] == 1).sum(1) >= 2)
    assert two.any() and majority_vote(votes, ["x"])[two, 0].max() == 0  # the gate wins over present votes
    # Rates are estimated on the comments in scope, gated ones counting as known negatives.
    assert np.abs(km.theta[:, 1, :] - THETA1).max() < 0.05
    assert np.abs(km.theta[:, 0, :] - THETA0).max() < 0.05
    assert abs(km.prior - 0.15 / (1 - 0.85 * 0.6)) < 0.03  # the class balance among the comments in scope
    # With labeled comments, P(y=1) where the gate fires is measured (0 here) instead of assumed.
    dev, y_dev, _ = gated_votes(2000, seed=5)
    anchored = LabelModel(ONE).fit(votes, dev, y_dev[:, None].astype(int))
    assert anchored.models["x"].gate_prob < 0.01


def test_label_model_save_load_keeps_gates(tmp_path: Path) -> None:
    votes, _, _ = gated_votes(3000)
    lm = LabelModel(ONE, gate_prob=0.02).fit(votes)
    lm.save(tmp_path / "lm.json")
    again = LabelModel.load(tmp_path / "lm.json", ONE)
    assert again.gates == frozenset({"gate.v1"}) and again.models["x"].gate_prob == 0.02
    assert np.allclose(lm.predict_proba(votes), again.predict_proba(votes))
    with pytest.raises(ValueError):
        again.predict_proba(Votes(votes.sources, votes.L, votes.evidence))  # same columns, gate not declared


# --------------------------------------------------------------------- analysis
def test_lf_summary_coverage_overlap_conflict() -> None:
    votes = Votes(
        [("a.v1", "coldness"), ("b.v1", "coldness"), ("c.v1", "coldness")],
        np.array([[1, 1, -1], [1, 0, -1], [1, -1, -1], [-1, -1, 0]], np.int8),
        [{}] * 4,
    )
    y = np.zeros((4, len(TAX.keys)), int)
    y[0, TAX.keys.index("coldness")] = 1
    rows = {r["lf"]: r for r in lf_summary(votes, list(TAX.keys), votes, y)}
    assert rows["a.v1"]["coverage"] == 0.75
    assert rows["a.v1"]["overlap"] == pytest.approx(2 / 3)
    assert rows["a.v1"]["conflict"] == pytest.approx(1 / 3)  # b votes absent where a votes present
    assert rows["b.v1"]["conflict"] == pytest.approx(0.5)
    assert rows["a.v1"]["precision_dev"] == pytest.approx(1 / 3)
    assert rows["c.v1"]["absent_accuracy_dev"] == 1.0
    keys = key_summary(votes, list(TAX.keys), np.zeros(y.shape), np.zeros(y.shape, int))
    page = html_report("t", list(rows.values()), keys, None, 4)
    assert "<table" in page and "data:image/png;base64," in page


# -------------------------------------------------------------------------- CLI
def test_weak_label_cli_on_a_real_file(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "weak.jsonl"
    report = tmp_path / "report.html"
    sample = repo / "data" / "sample_comments.csv"  # 300 real comments, none in dev or test (33 in train)
    result = runner.invoke(
        app,
        [
            "weak-label",
            str(sample),
            "--out",
            str(out),
            "--dev",
            str(repo / "data" / "annotated"),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert len(rows) == 300
    for r in rows:
        validate_record(r, TAX, "weak output")  # the annotated-data schema: known keys, spans inside the text
        assert set(r["probs"]) == set(TAX.keys)
        assert set(r["confidence"]) == set(r["labels"])
        for sp in r["spans"]:
            assert sp["label"] in r["labels"] and sp["lfs"] and 0 <= sp["confidence"] <= 1
    assert sum(bool(r["labels"]) for r in rows) > 50
    assert "friendliness+" in {k for r in rows for k in r["labels"]}
    assert "majority vote" in result.stdout and "label model" in result.stdout  # the analysis on --dev
    assert "coverage" in result.stdout
    page = report.read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "friendly_staff.v1" in page


def test_weak_label_with_a_small_dev_tags_nothing_without_evidence(tmp_path: Path, repo: Path) -> None:
    """A 60-comment --dev leaves most keys with no present vote there; their expected-F1 thresholds used to
    fall to the grid's floor, under the probability of comments with no evidence (the gate's estimate), and
    164 of these 300 comments got proactivity+ and patience- with no quote."""
    dev = tmp_path / "dev60.jsonl"
    dev.write_text("".join((repo / "data" / "annotated" / "dev.jsonl").read_text().splitlines(True)[:60]))
    out = tmp_path / "weak.jsonl"
    sample = repo / "data" / "sample_comments.csv"
    result = runner.invoke(app, ["weak-label", str(sample), "--out", str(out), "--dev", str(dev)])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    tags = [(k, {sp["label"] for sp in r["spans"]}) for r in rows for k in r["labels"]]
    unquoted = [k for k, quoted in tags if k not in quoted]
    assert len(tags) > 50 and len(unquoted) < 0.1 * len(tags)
    assert max(len(r["labels"]) for r in rows) <= 8


def test_weak_label_cli_errors_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["weak-label", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    result = runner.invoke(app, ["weak-label", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "--out" in result.output


def test_weak_label_cli_excludes_labeled_comments(tmp_path: Path, repo: Path) -> None:
    gold = read_jsonl(repo / "data" / "annotated" / "dev.jsonl")[:5]
    src = tmp_path / "mixed.jsonl"
    src.write_text(
        "\n".join(json.dumps({"id": f"x{i}", "text": r["text"]}) for i, r in enumerate(gold))
        + "\n"
        + json.dumps({"id": "new", "text": "The staff were lovely and very helpful."})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.jsonl.gz"
    result = runner.invoke(
        app, ["weak-label", str(src), "--out", str(out), "--exclude", str(repo / "data" / "annotated")]
    )
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["new"]  # the 5 dev comments (matched by text) are left out
    assert {"friendliness+", "problem_solving+"} <= set(rows[0]["labels"])


# ---------------------------------------------------------------------- training
def test_weak_examples_are_soft_segments_without_labeled_comments(tmp_path: Path) -> None:
    text = "The staff were lovely. The room was small."
    weak = tmp_path / "weak.jsonl"
    probs = dict.fromkeys(TAX.keys, 0.01) | {"friendliness+": 0.9}
    rows = [
        {"id": "w1", "text": text, "labels": ["friendliness+"], "probs": probs,
         "spans": [{"label": "friendliness+", "start": 0, "end": 22}]},
        {"id": "w2", "text": "A gold comment, also in the corpus.", "labels": [], "probs": probs, "spans": []},
    ]  # fmt: skip
    weak.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ex = Examples()
    keys = list(TAX.keys)
    gold = [{"id": "g1", "text": "A gold comment,  also in the corpus!"}]  # same normalised text
    used, added, skipped = add_weak_examples(ex, weak, keys, 0.5, Segmenter(), exclude=gold)
    assert (used, added, skipped) == (1, 2, 1)
    texts, y, mask, w = ex.arrays()
    j = keys.index("friendliness+")
    assert texts == ["The staff were lovely.", "The room was small."]
    assert y[0, j] == pytest.approx(0.9) and mask[0, j] == 1
    assert mask[1, j] == 0  # the other segment of a comment with the key: left out for that key
    assert y[1, keys.index("coldness")] == pytest.approx(0.01) and mask[1, keys.index("coldness")] == 1
    assert np.allclose(w, 0.5)
    cfg = TrainConfig().with_overrides(["weak=w.jsonl", "weak_weight=0.25"])
    assert cfg.weak == "w.jsonl" and cfg.weak_weight == 0.25
