"""The incident facts a chat card shows, read from `Message.data` the same way for every chat provider.

Keys read: number, title, service, urgency, status, incident_id, ack_url, resolve_url,
incident_url, interactive."""

LINKS = (("ack_url", "Acknowledge"), ("resolve_url", "Resolve"), ("incident_url", "Open incident"))
FIELDS = (("service", "Service"), ("urgency", "Urgency"), ("status", "Status"))


def heading(message):
    title = message.data.get("title") or message.subject or "Incident"
    number = message.data.get("number")
    return f"#{number} {title}" if number not in (None, "") else str(title)


def fields(message):
    """(label, value) of the facts the message has, in a fixed order."""
    return [(label, str(message.data[key])) for key, label in FIELDS if message.data.get(key) not in (None, "")]


def links(message):
    """(key, label, url) of the links the message has."""
    return [(key, label, str(message.data[key])) for key, label in LINKS
            if str(message.data.get(key, "")).startswith(("http://", "https://"))]
