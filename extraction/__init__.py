"""extraction: bytes -> decoded HTML -> Article (title, text, date, author, language);
normalisation; whether a page is an article at all (the content hash is newswatch.text's)."""

from .article import Article, extract_article

__all__ = ["Article", "extract_article"]
