"""cxnlp: tag what customers write about the people who served them.

Public API (stable names re-exported here):

- :class:`Taxonomy`, :class:`Label`, :func:`load_taxonomy` - the label set.
- :class:`Tagger`, :class:`TagResult`, :class:`Tag`, :class:`CXClassifier` - tagging.
- :class:`CXModel`, :class:`TrainConfig`, :func:`train` - models and training.
- :class:`EnsembleModel`, :func:`fit_ensemble` - several trained models tagging as one (the accurate mode).
- :func:`calibrate` - adapt a model's calibration and thresholds to a labeled sample from another domain.
"""

__version__ = "0.2.0"

from cxnlp.taxonomy import Label, Taxonomy, TaxonomyError, load_taxonomy  # noqa: E402

_LAZY = {
    "Tagger": "cxnlp.inference",
    "TagResult": "cxnlp.inference",
    "Tag": "cxnlp.inference",
    "CXClassifier": "cxnlp.estimator",
    "CXModel": "cxnlp.models.model",
    "EnsembleModel": "cxnlp.models.ensemble",
    "fit_ensemble": "cxnlp.training",
    "TrainConfig": "cxnlp.training",
    "train": "cxnlp.training",
    "calibrate": "cxnlp.calibration",
}


def __getattr__(name: str):
    # Heavy modules (scikit-learn, spaCy) load on first use, so `import cxnlp` stays instant.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cxnlp' has no attribute {name!r}")


__all__ = ["Label", "Taxonomy", "TaxonomyError", "__version__", "load_taxonomy", *_LAZY]
