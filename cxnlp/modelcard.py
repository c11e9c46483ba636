"""The model card (README.md) written into every model directory."""

from __future__ import annotations

from typing import Any


def model_card(model: Any, metrics: dict[str, Any]) -> str:
    meta = model.meta
    cfg = meta.get("train_config", {})
    data = meta.get("training_data", {})
    lines = [
        f"# {meta.get('name', 'cxnlp model')} ({model.scorer.family})",
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
        f"- family: `{model.scorer.family}`, seed {meta.get('seed')}",
        f"- data: {data.get('source')} ({data.get('comments')}), sha256 `{str(data.get('sha256', ''))[:16]}…`",
        f"- distillation data: {data.get('distill') or 'none'}",
        "- calibration: per-label Platt scaling on dev; thresholds: per-label F1-optimal on dev",
        f"- settings: `{ {k: v for k, v in cfg.items() if v is not None} }`",
        "",
        "## Metrics",
    ]
    for split, m in metrics.items():
        if not isinstance(m, dict) or "micro" not in m:
            continue
        lines += [
            f"### {split} ({m.get('n_comments', '?')} comments)",
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
    lines += [
        "## Limitations",
        "- Trained on hotel reviews (Booking.com, unpunctuated) and US consumer-finance complaints (CFPB);",
        "  other domains (retail, airlines, telecom) are untested by this card's figures.",
        "- English only. Rare labels (passion, patience, condescension, robotism) have few training examples;",
        "  their scores are the least reliable.",
        "- Labels were produced by LLM annotator agents following LABELS.md 1.1 (see data/README.md).",
        "",
    ]
    return "\n".join(lines)
