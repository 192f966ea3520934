"""On-call work the engine runs: the announcements of shifts, handoffs and gaps, every minute."""

from datetime import timedelta

from tocsin.engine.registry import every, handler

from .announcer import announce


@handler("oncall.announce")
def announce_events(payload, context):
    announce(context.now)


def register():
    every("oncall.announce", timedelta(minutes=1))
