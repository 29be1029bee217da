"""Events: stories about the same news, in any language and from any outlet, grouped together.

from newswatch.events import EventGrouper, Story, default_encoder
grouper = EventGrouper(default_encoder())        # USE multilingual if installed, else lexical
prepared = grouper.prepare(Story.from_text(key, title, text, "zh", published, "36kr"))
assignment = grouper.assign(prepared)            # .event_key, .new, .score, .closest

The embedding is the optional extra ``pip install 'newswatch[events]'``; without it grouping
uses lexical evidence (entities, versioned names, numbers, same-language word overlap).
"""

from .encoders import (
    ENCODERS,
    Encoder,
    EncoderUnavailable,
    default_encoder,
    encoder_for,
    make_encoder,
    register,
)
from .grouper import TUNED, Assignment, EventGrouper, Lead, Prepared, Settings, Story, lead_text

__all__ = ["ENCODERS", "TUNED", "Assignment", "Encoder", "EncoderUnavailable", "EventGrouper",
           "Lead", "Prepared", "Settings", "Story", "default_encoder", "encoder_for", "lead_text",
           "make_encoder", "register"]
