"""Engine events for the apps whose work it runs, so the engine imports none of them."""

from django.dispatch import Signal

# Sent inside the transaction that makes a job a dead letter, with kind=, payload=, error= (the
# exception's type) and at=. The app that owns the kind makes the failure visible where it matters.
job_dead = Signal()

# Sent once by an engine that is about to run jobs, in its thread, with name= (the worker's name).
# Apps start there what their jobs will need at once (notify: the sending process).
engine_starting = Signal()
