"""Text change analysis for alerts: sentence splitting, sentence diffs, trivial-change test.

Works on Chinese and English. Sentences end after ``。｡！？；…`` (and the full-width forms
``！？；．``) anywhere, after ASCII ``. ! ? ;`` (runs like ``...`` or ``?!`` included) when
whitespace, the end of the line or a CJK character follows, and at every newline. Closing
quotes and brackets right after the end mark stay with the sentence: ``他说：“好。”``.
ASCII marks between digits or letters (``3.14``, ``GPT-4.5``, ``example.com``) do not split,
nor does a period after a few English abbreviations (``Mr.``, ``Dr.``, ``e.g.``) or a
single capital letter (``J. K. Rowling``, ``A.I.``).

``sentence_diff`` is a unified diff over sentences (one sentence a line, ``- ``/``+ ``/``  ``
prefixes, ``@@`` hunks), which reads far better for Chinese than a line or character diff.
``changed_sentences`` lists what is new in the new text, ignoring edits that only touch
whitespace, punctuation or case; ``is_trivial_change`` says whether the whole change is such an
edit. Both use the one trivial-change rule, ``newswatch.text.change_key`` (storage's too).

``inline_diff`` is what a person reads on the story page: the new text with the changed words
(English and other spaced scripts) or characters (Chinese) marked, as ``(op, text)`` pieces.
"""

from __future__ import annotations

import difflib
import re

from newswatch.text import change_key, is_trivial_change

__all__ = ["changed_sentences", "diff_tokens", "inline_diff", "is_trivial_change",
           "sentence_diff", "split_sentences"]

_STRONG = "。｡！？；…．"  # always end a sentence (CJK and full-width marks)
_WEAK = ".!?;"  # ASCII: end a sentence only before whitespace, end of line or CJK
_CLOSE = "\"'”’」』）)】》〉〕»›\\]"
_CJK = "\u2e80-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_SENTENCE = re.compile(
    rf"""
    .*?                                   # the sentence, as short as possible
    (?:
        (?:[{_STRONG}]                    # a CJK end mark, or
          |[{_WEAK}](?=[{_WEAK}]*[{_CLOSE}]*(?:\s|$|[{_CJK}]))  # an ASCII one at a boundary
        )
        [{_STRONG}{_WEAK}]*               # more end marks: ?! ... ……
        [{_CLOSE}]*                       # closing quotes and brackets
      | $
    )
    """,
    re.VERBOSE,
)


# A sentence "ending" in one of these is an abbreviation or an initial: keep going.
_ABBREVIATION = re.compile(
    r"(?:^|[\s.(（])(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|e\.g|i\.e|No|Fig|[A-Z])\.$"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, stripped, empty ones dropped."""
    sentences = []
    for line in text.splitlines():
        start = 0
        for m in _SENTENCE.finditer(line):
            sentence = line[start : m.end()].strip()
            if m.end() < len(line) and _ABBREVIATION.search(sentence):
                continue  # "Mr. Smith", "J. K. Rowling", "A.I.公司": not an end
            if sentence:
                sentences.append(sentence)
            start = m.end()
    return sentences


def sentence_diff(old: str, new: str, context: int = 2) -> str:
    """Unified diff of ``old`` -> ``new`` over sentences; ``""`` when the sentences are equal.

    Each hunk starts ``@@ -a,b +c,d @@`` (sentence numbers, 1-based) and shows up to
    ``context`` unchanged sentences around the change, prefixed ``  ``; removed sentences
    are prefixed ``- ``, added ones ``+ ``.
    """
    lines = difflib.unified_diff(split_sentences(old), split_sentences(new), n=context, lineterm="")
    out = []
    for line in lines:
        if line.startswith(("---", "+++")) and not out:
            continue  # the file header lines, always first
        if line.startswith("@@"):
            out.append(line)
        else:
            out.append(f"{line[:1]} {line[1:]}")
    return "\n".join(out)


def changed_sentences(old: str, new: str) -> list[str]:
    """Sentences of ``new`` that are not in ``old`` (added or edited), in order, once each.

    A sentence counts as present in ``old`` when it equals one there up to whitespace and
    punctuation (and case), so a sentence that only moved, or only had ``，`` turned into ``,``,
    is not reported. Sentences of punctuation alone are not reported either.
    """
    seen = {change_key(s) for s in split_sentences(old)}
    out = []
    for sentence in split_sentences(new):
        key = change_key(sentence)
        if key and key not in seen:
            seen.add(key)
            out.append(sentence)
    return out


# A word of a spaced script (letters, digits, _ outside CJK), a run of whitespace, or any other
# single character (a CJK character, a punctuation mark).
_CJK_CLASS = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U000323af"
_TOKEN = re.compile(rf"(?:(?![{_CJK_CLASS}])\w)+|\s+|.", re.DOTALL)
MAX_TOKEN_PAIRS = 4_000_000  # beyond len(a) * len(b) tokens, a block is shown replaced whole


def diff_tokens(text: str) -> list[str]:
    """``text`` cut into what a diff marks: words, whitespace runs, single other characters."""
    return _TOKEN.findall(text)


def inline_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``old`` -> ``new`` as ``(op, text)`` pieces, op ``equal``, ``delete`` or ``insert``
    (joining the equal and insert pieces gives ``new``, the equal and delete ones ``old``).
    Paragraphs are aligned first; within paragraphs that changed, English words and Chinese
    characters are the units, so an edit marks ``trained`` -> ``tested`` or ``千`` -> ``万``."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    pieces: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("equal", "".join(a[i1:i2])))
        elif tag == "replace":
            pieces.extend(_token_diff("".join(a[i1:i2]), "".join(b[j1:j2])))
        elif tag == "delete":
            pieces.append(("delete", "".join(a[i1:i2])))
        else:
            pieces.append(("insert", "".join(b[j1:j2])))
    merged: list[tuple[str, str]] = []
    for op, piece in pieces:
        if not piece:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + piece)
        else:
            merged.append((op, piece))
    return merged


def _token_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = diff_tokens(old), diff_tokens(new)
    if len(a) * len(b) > MAX_TOKEN_PAIRS:
        return [("delete", old), ("insert", new)]
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("equal", "".join(a[i1:i2])))
            continue
        if tag in ("replace", "delete"):
            out.append(("delete", "".join(a[i1:i2])))
        if tag in ("replace", "insert"):
            out.append(("insert", "".join(b[j1:j2])))
    return out
