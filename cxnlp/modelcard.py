"""The model card (README.md) written into every model directory."""

from __future__ import annotations

from typing import Any

from cxnlp.data import BUNDLED_DATA


def model_card(model: Any, metrics: dict[str, Any]) -> str:
    meta = model.meta
    cfg = meta.get("train_config", {})
    data = meta.get("training_data", {})
    cal = meta.get("calibrated")
    lines = [
        f"# {meta.get('name', 'cxnlp model')} ({model.family}){', recalibrated' if cal else ''}",
        "",
        "A cxnlp multi-label tagger for what customers say about the staff who served them:",
        f"{len(model.taxonomy.skills)} soft skills (positive / negative) and"
        f" {len(model.taxonomy.sins)} sins of service",
        f"({len(model.keys)} keys, taxonomy `{model.taxonomy.name}` {model.taxonomy.version}).",
        "",
        "## Intended use",
        "Tagging customer comments (reviews, survey verbatims, complaints) in bulk for CX analysis: each tag",
        "comes with a calibrated probability and the sentence that supports it. Aggregate over many comments;",
        "do not use a single tag to judge an individual employee.",
        "",
        "## Training",
        f"- family: `{model.family}`, seed {meta.get('seed')}",
        f"- data: {data.get('source')} ({data.get('comments')}), sha256 `{str(data.get('sha256', ''))[:16]}…`",
        *_added_line(data.get("added")),
        f"- distillation data: {data.get('distill') or 'none'}"
        + (f", sha256 `{data['distill_sha256'][:16]}…`" if data.get("distill_sha256") else ""),
        f"- calibration: per-label Platt scaling on {_calibration_data(cfg, data)}; thresholds: per-label F1-optimal"
        " on the same" + (" (the base model's; then recalibrated, see below)" if cal else ""),
        f"- settings: `{ {k: v for k, v in cfg.items() if v is not None} }`",
        *_encoder_lines(model),
        "",
    ]
    if data.get("calibration_without_positives"):
        missing = ", ".join(f"`{k}`" for k in data["calibration_without_positives"])
        lines[-1:-1] = [f"- no calibration comment carries {missing}: uncalibrated scores, untuned thresholds"]
    if meta.get("member_info"):
        lines += _members(meta["member_info"])
    if cal:
        lines += _recalibration(cal)
    lines.append("## Metrics")
    for split, m in metrics.items():
        if not isinstance(m, dict) or "micro" not in m:
            continue
        lines += [
            f"### {_HEADINGS.get(split, (split, ''))[0]} ({m.get('n_comments', '?')} comments)"
            + _HEADINGS.get(split, (split, ""))[1],
            f"micro P/R/F1 {m['micro']['precision']:.3f} / {m['micro']['recall']:.3f} / {m['micro']['f1']:.3f},"
            f" macro F1 {m['macro_f1']:.3f}, ECE {m.get('ece')}",
            "",
            "| label | precision | recall | F1 | support |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| `{k}` | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
            for k, v in m["per_label"].items()
        ]
        lines.append("")
    lines.append("## Limitations")
    if data.get("source") == BUNDLED_DATA:
        lines += [
            "- The real comments behind it are hotel reviews (Booking.com, unpunctuated) and US consumer-finance",
            "  complaints (CFPB); other domains' comments (`train_synthetic`, and the `ood_*` splits when shown)",
            "  are synthetic, so real retail, airline or telecom comments are untested by this card's figures.",
            "- English only. Rare labels (passion, patience, condescension, robotism) have few training examples;",
            "  their scores are the least reliable.",
            "- Labels were produced by LLM annotator agents following LABELS.md 1.1 (see data/README.md).",
        ]
    else:
        comments = data.get("comments") or {}
        lines += [
            f"- Trained and tuned on {data.get('source')} alone ({comments}); the figures above are on its own",
            "  dev split, so comments unlike those are untested by them. Keys with few or no positives in dev keep",
            "  uncalibrated scores or thresholds fitted on a handful of comments: the least reliable.",
        ]
    if data.get("added"):
        lines += [
            f"- {data['added']['source']} adds {data['added']['dev']} comments to dev: the dev figures above mix",
            "  them with the other dev comments; score them alone with `cxnlp evaluate MODEL --data FILE`",
            "  on comments of that domain the model has not seen.",
        ]
    if data.get("synthetic"):
        n, read = (data.get("comments") or {}).get("train_synthetic", 0), data.get("synthetic_read_blind")
        how = (
            f"the labels of {read:,} of {n:,} are the union of the writer's and a blind reader's"
            if read
            else "they carry their writers' labels"
        )
        lines += [
            f"- The synthetic comments were written by LLM writer agents; {how} (data/README.md).",
            "  Their texts are cleaner and more explicit than real comments.",
        ]
    lines.append("")
    return "\n".join(lines)


# metrics.json entries written by `cxnlp calibrate`: (heading, note after the comment count)
_HEADINGS = {
    "calibration_sample": ("calibration sample", ", IN-SAMPLE: calibration and thresholds were fitted on them"),
    "calibration_sample_base": ("calibration sample, base model before recalibration", ""),
}


def _calibration_data(cfg: dict[str, Any], data: dict[str, Any]) -> str:
    # What the model was calibrated on, as training recorded it (the config may ask for synthetic
    # comments that a user's data does not have).
    used = data.get("calibration") or {}
    share = cfg.get("synthetic_calibration", 0) if used.get("synthetic", 0) > 0 else 0
    if not share:
        return "dev"
    return f"dev plus a held-out {share:.0%} of the synthetic comments (other domains; not trained on)"


def _recalibration(cal: dict[str, Any]) -> list[str]:
    data, method, base = cal.get("data", {}), cal.get("method", {}), cal.get("base_model", {})
    pos = data.get("positives", {})
    few = sorted(k for k, n in pos.items() if n < 5)
    rule = method.get("threshold_rule")
    return [
        "## Recalibration",
        f"The weights are those of `{base.get('name')}` ({base.get('path')}, config.json sha256"
        f" `{str(base.get('config_sha256'))[:16]}…`), unchanged; only the per-label calibration and thresholds"
        f" were refitted (`cxnlp calibrate`, {cal.get('created_with')}) on a labeled sample of the user's domain:",
        "",
        f"- sample: {data.get('source')}, {data.get('comments')} comments, sha256 `{str(data.get('sha256'))[:16]}…`;"
        f" positives per label: {', '.join(f'{k} {n}' for k, n in pos.items())}",
        f"- calibration: {method.get('calibration')}; prior strength chosen: {method.get('prior_strength')}",
        f"- thresholds: {method.get('thresholds')}; chosen: **{rule}**"
        + (f" ({method.get('shared_threshold')} for every label with a positive example)" if rule == "shared" else ""),
        f"- labels without a positive example keep the base model's calibration and threshold:"
        f" {', '.join(method.get('kept_keys') or []) or 'none'}",
        "",
        "**Caveat.** The metrics on the calibration sample below are in-sample: calibration and thresholds were fitted"
        " on those very comments, so they overstate what to expect on new ones. Measure on labeled comments that were"
        " not used here (`cxnlp evaluate MODEL --data other.csv`). Labels with few positives in the sample"
        f" ({', '.join(few) or 'none'} had fewer than 5) are adapted little or not at all. The method and its measured"
        " effect are in the cxnlp repository's `benchmarks/domain_calibration.md`.",
        "",
    ]


def _members(members: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Members",
        "An ensemble: each member scores a comment as it would alone; the weighted sum of their calibrated log-odds"
        " gets its own per-label Platt scaling and thresholds (fitted on the calibration data above), and a tag's"
        " evidence is the sentence chosen by the member most confident in it. Tagging runs every member, so it is"
        " as slow as the slowest.",
        "",
        "| member | family | weight | created with | training data sha256 |",
        "|---|---|---:|---|---|",
    ]
    lines += [
        f"| {m.get('name')} | `{m.get('family')}` | {m.get('weight')} | {m.get('created_with')} |"
        f" `{str((m.get('training_data') or {}).get('sha256', ''))[:16]}…` |"
        for m in members
    ]
    return lines + [""]


def _encoder_lines(model: Any) -> list[str]:
    encoders = [m for m in getattr(model, "members", [model]) if m.family == "encoder"]
    if not encoders:
        return []
    scorer = encoders[0].scorer
    info = scorer.backbone_info
    line = (
        f"- fine-tuned from `{info.get('name')}` ({info.get('package') or 'not a package'}); loading it needs"
        " torch and transformers (`pip install 'cxnlp[encoder]'`)"
    )
    if scorer.stores_changed_only():
        line += (
            f" and that backbone, sha256 `{info['sha256'][:16]}…` (checked): the model stores only what"
            " fine-tuning changed"
        )
    return [line]


def _added_line(added: dict[str, Any] | None) -> list[str]:
    if not added:
        return []
    return [
        f"- added data: {added['source']}, {added['train']} comments to train and {added['dev']} to dev,"
        f" sha256 `{added['sha256'][:16]}…`"
    ]
