"""Directory events that higher apps (on-call, escalation) listen to, so no import points up."""

from django.dispatch import Signal

# Sent after commit with person=, roles= (slugs of holdings that ended) and at=.
person_deactivated = Signal()

# Sent by the daily reminder job with items= ([OverdueValidation]) and at=.
validations_overdue = Signal()
