"""readability-lxml internals that extraction/core.py overrides or relies on beyond those that
tests/test_overridden_internals.py lists (the same check; fold them into its list when that
file is next touched). A failure names exactly what moved."""

from __future__ import annotations

from tests.test_overridden_internals import _check

READABILITY_DOCUMENT_MORE = [
    ("get_preserved_elements", ["node"], False),
    ("select_best_candidate", ["candidates"], False),
    ("get_article", ["candidates", "best_candidate", "html_partial"], False),
    ("sanitize", ["node", "candidates"], False),
]
# sanitize asks get_preserved_elements what to keep; summary builds the article with get_article
READABILITY_CALLS = ["self.get_preserved_elements(", "self.get_article("]


def test_readability_document_internals_core_relies_on() -> None:
    from readability import Document

    moved = _check(Document, READABILITY_DOCUMENT_MORE, READABILITY_CALLS, "readability-lxml")
    assert not moved, "internals extraction/core.py overrides moved:\n" + "\n".join(moved)
