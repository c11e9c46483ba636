"""Weak supervision: labeling functions, a label model, and corpus labeling.

* :mod:`cxnlp.weak.lf`: the LF registry (``@registry.lf("name.v1")``), :class:`Vote`,
  :class:`Clause` (negation scope, staff/thing anchors, contrast clauses), :class:`CueLF`;
* :mod:`cxnlp.weak.default_lfs`: the built-in LFs for the 27 default keys;
* :mod:`cxnlp.weak.apply`: :class:`WeakLabeler` runs the LFs (spaCy) into a vote matrix;
* :mod:`cxnlp.weak.label_model`: :class:`LabelModel` (Dawid-Skene per key) and majority vote;
* :mod:`cxnlp.weak.analysis`: LF coverage, overlap, conflict, accuracy; the HTML report;
* :mod:`cxnlp.weak.corpus`: weak-labeled records and training examples.
"""

from cxnlp.weak.apply import Votes, WeakLabeler
from cxnlp.weak.label_model import LabelModel, majority_vote
from cxnlp.weak.lf import (
    Clause,
    CommentLF,
    CueLF,
    FunctionLF,
    LabelingFunction,
    LFSet,
    Vote,
    build_lfs,
    labeling_function,
    registry,
)

__all__ = [
    "Clause",
    "CommentLF",
    "CueLF",
    "FunctionLF",
    "LFSet",
    "LabelModel",
    "LabelingFunction",
    "Vote",
    "Votes",
    "WeakLabeler",
    "build_lfs",
    "labeling_function",
    "majority_vote",
    "registry",
]
