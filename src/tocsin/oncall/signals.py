"""On-call events that higher apps (notifications) turn into reminders; no import points up.

All are sent after commit, with sender=Schedule:
- swap_requested(swap): the counterpart should be asked.
- shift_started(schedule, person, start, end, assignment): someone's shift began.
- handoff(schedule, previous, person, at): on-call passed from the people in `previous`
  (a list: a shift of size two can hand over from two at once) to `person`.
- gap_found(schedule, start, end): nobody will be on call then (found in the look-ahead).
"""

from django.dispatch import Signal

swap_requested = Signal()
shift_started = Signal()
handoff = Signal()
gap_found = Signal()
