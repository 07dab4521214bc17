"""Extraction: one engine reads every kind of text kgbuild is fed, with every value's evidence.

Layouts and languages are data (``data/lexicon/``); the engine (:mod:`kgbuild.extract.engine`) reads
labels in any layout (:mod:`kgbuild.extract.reading`), typed values by their finders
(:mod:`kgbuild.extract.values`), and facts stated in prose. This stage imports no RDF library.
"""

from kgbuild.extract.engine import Extraction, detect_language, extract, supports

__all__ = ["Extraction", "extract", "detect_language", "supports"]
