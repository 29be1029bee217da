"""extraction: bytes -> decoded HTML -> Article (title, text, date, author, language);
normalisation and the content hash; whether a page is an article at all."""

from .article import Article, extract_article

__all__ = ["Article", "extract_article"]
