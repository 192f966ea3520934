"""Context attached to an incident before it pages (E6). [placeholder: being written]"""


def enrich(incident, alert, now):
    pass


def joined(incident, alert, decision, now):
    pass
