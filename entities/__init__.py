"""AI entities as watch terms: the bundled, versioned table of organisations, products and
models (Chinese and English names, alias rules), user additions from the config, and the
tagger that finds them in a story.

from newswatch.entities import EntityTagger, load_table, merge_user_entities
table = merge_user_entities(load_table(), config.get("entities"))
hits = EntityTagger(table).tag(article.title, article.text)
about = table.with_parents(h.entity for h in hits)     # {"deepseek-r1", "deepseek", ...}
"""

from .table import Alias, Entity, EntityError, EntityTable, load_table, merge_user_entities
from .tagger import EntityHit, EntityTagger, Span

__all__ = ["Alias", "Entity", "EntityError", "EntityHit", "EntityTable", "EntityTagger", "Span",
           "load_table", "merge_user_entities"]
