"""Whether a text matches a watch: folding, watch rules, the one-pass matcher, text diffs.

from newswatch.matching import Matcher, parse_watches, fold
matcher = Matcher(parse_watches(config["watches"]))
for m in matcher.match(article.title, article.text, outlet="jiqizhixin"):
    m.watch, m.terms, m.snippet, m.first_offset
"""

from newswatch.fold import fold, fold_with_map

from .matcher import Match, Matcher
from .rules import Watch, WatchError, parse_watches

__all__ = ["Match", "Matcher", "Watch", "WatchError", "fold", "fold_with_map", "parse_watches"]
