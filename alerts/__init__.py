"""Alerts: the outbox policy (planner), channels (webhook, email, Apprise) and the sender.

Import the parts from their modules: ``alerts.channels``, ``alerts.payload``, ``alerts.secrets``
(no database needed), ``alerts.planner`` and ``alerts.sender`` (need ``storage``).
"""

from newswatch.alerts.channels import CHANNEL_KINDS, Channel, DeliveryError, parse_channels
from newswatch.alerts.secrets import expand_env, redact

__all__ = ["CHANNEL_KINDS", "Channel", "DeliveryError", "expand_env", "parse_channels", "redact"]
