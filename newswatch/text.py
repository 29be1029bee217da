"""Text forms every room compares by: the comparison form, the content hash, the change key.

* ``fold_whitespace``: invisible characters removed, line breaks unified, runs of spaces
  collapsed, every line stripped, blank lines dropped (one paragraph a line).
* ``comparison_form``: NFKC, then ``fold_whitespace``. Two texts with the same comparison form
  are the same text; it is what ``content_hash`` hashes, so storing a page's text in another
  Unicode form (say, without NFKC) keeps its hash. Text stored so far was already in this form,
  so its hashes are what they were.
* ``change_key``: what an edit must touch to count as a change. Whitespace, punctuation and
  case do not count; letters, digits and symbols (``$5`` -> ``€5``, ``+`` -> ``-``) do.
  ``is_trivial_change`` compares two texts (or titles) by it: storage decides "unchanged" with
  it, matching and the alert planner decide "an edit worth reporting" with it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["change_key", "comparison_form", "content_hash", "fold_whitespace",
           "is_trivial_change", "nfkc", "titled_hash"]

# zero-width and invisible format characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e]")
# every Unicode space, so that comparison_form(fold_whitespace(t)) == comparison_form(t)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
# characters fold_whitespace always changes
_ODD = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\r\u2028\u2029\x85"
                  "\t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def _is_folded(text: str) -> bool:
    """True when fold_whitespace would return the text unchanged (all stored text): cheap."""
    return not (text[0] in " \n" or text[-1] in " \n" or "  " in text or "\n\n" in text
                or " \n" in text or "\n " in text or _ODD.search(text))


def fold_whitespace(text: str) -> str:
    """Invisible characters removed, spaces collapsed and stripped per line, blank lines
    dropped: paragraphs end up separated by exactly one newline."""
    if not text:
        return ""
    if _is_folded(text):
        return text
    text = _SPACES.sub(" ", _NEWLINES.sub("\n", _INVISIBLE.sub("", text)))  # no space is "\n"
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def nfkc(text: str) -> str:
    """The text in Unicode NFKC (full-width letters and digits become ASCII, and so on)."""
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def comparison_form(text: str) -> str:
    """NFKC + ``fold_whitespace``: the form two texts are compared (and hashed) in."""
    return fold_whitespace(nfkc(text)) if text else ""


def content_hash(text: str) -> str:
    """sha256 hex digest of the text's comparison form (UTF-8): a story revision's identity."""
    return hashlib.sha256(comparison_form(text).encode("utf-8")).hexdigest()


def titled_hash(text: str, title: str) -> str:
    """sha256 hex of text and title together: the identity of a revision that differs from
    another only in its title (the text alone is already taken by that revision)."""
    joined = comparison_form(text) + "\x00title\x00" + comparison_form(title)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


class _Insignificant(dict):
    """``str.translate`` table deleting whitespace, punctuation (P*), separators (Z*) and
    invisible format characters (Cf), filled lazily one code point at a time."""

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        category = unicodedata.category(ch)
        value = None if ch.isspace() or category[0] in "PZ" or category == "Cf" else code
        self[code] = value
        return value


_INSIGNIFICANT = _Insignificant()


def change_key(text: str) -> str:
    """The text NFKC-normalised and casefolded, without whitespace or punctuation: two texts
    with the same key differ only in layout, punctuation or case (symbols do count)."""
    return nfkc(text).casefold().translate(_INSIGNIFICANT) if text else ""


def is_trivial_change(old: str, new: str) -> bool:
    """True when ``old`` -> ``new`` touches only whitespace, punctuation or case."""
    return old == new or change_key(old) == change_key(new)
