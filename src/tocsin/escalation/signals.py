"""Signals escalation sends to the apps above it (the ladder points down, so it never imports them)."""

from django.dispatch import Signal

# Notification requests were added to the outbox (sent inside the transaction that added them).
notifications_requested = Signal()
