"""cxnlp: tag what customers write about the people who served them.

Public API (stable names re-exported here):

- :class:`Taxonomy`, :class:`Label`, :func:`load_taxonomy` - the label set.
"""

from cxnlp.taxonomy import Label, Taxonomy, TaxonomyError, load_taxonomy

__version__ = "0.1.0"

__all__ = ["Label", "Taxonomy", "TaxonomyError", "__version__", "load_taxonomy"]
