"""The pages behind acknowledgement links: a GET only shows a confirmation (mail scanners open
every link), and the POST from that page acts, once."""

import threading
import time

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from . import links, tokens
from .models import AckToken

POSTS_PER_MINUTE = 20  # per client IP; a person clicks once, a script guessing tokens many times
VIA = "link"


class PostLimit:
    """A per-IP count of POSTs in the current minute, in process (each worker keeps its own)."""

    MAX_ADDRESSES = 10_000

    def __init__(self, per_minute):
        self.per_minute = per_minute
        self._counts = {}
        self._lock = threading.Lock()

    def take(self, ip):
        """0 when this POST may go ahead, else the seconds to wait."""
        minute = int(time.time() // 60)
        with self._lock:
            if len(self._counts) >= self.MAX_ADDRESSES:
                self._counts.clear()
            seen, count = self._counts.get(ip, (minute, 0))
            if seen != minute:
                count = 0
            if count >= self.per_minute:
                return max(1, 60 - int(time.time() % 60))
            self._counts[ip] = (minute, count + 1)
            return 0

    def clear(self):
        with self._lock:
            self._counts.clear()


post_limit = PostLimit(POSTS_PER_MINUTE)


def private_page(response):
    """Mark the page of a link whose URL carries a secret token (ack, resolve, verification):
    no cache may keep it and no Referer may carry the token to another site."""
    # "no-referrer" would also make the browser post the form with `Origin: null`, which the CSRF
    # check rightly refuses; "same-origin" keeps the token in-house and the form working.
    response["Referrer-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response


def link_refused(request, reason, status, **extra):
    """The page of a link (ack, resolve, verification) that cannot be used; nothing was changed."""
    return private_page(render(request, "notify/link_refused.html", {"reason": reason, **extra}, status=status))


def too_many(request, limit):
    """None, or the refusal once `limit` (per client address) has run out."""
    wait = limit.take(request.META.get("REMOTE_ADDR", ""))
    if not wait:
        return None
    response = link_refused(request, "Too many attempts from your address; wait a minute and try again.", 429)
    response["Retry-After"] = str(wait)
    return response


def _page(request, token, action):
    now = timezone.now()
    if request.method == "POST":
        limited = too_many(request, post_limit)
        if limited:
            return limited
        try:
            ack, changed = tokens.act_with_token(token, now=now, via=VIA, action=action)
        except tokens.TokenRefused as refused:
            return link_refused(request, refused.reason, refused.status)
        except ValidationError:  # closed between the check and the lock
            return link_refused(request, tokens.CLOSED, 410)
        return private_page(render(request, "notify/ack_done.html", {
            "incident": ack.incident, "action": action, "changed": changed,
            "incident_url": links.incident_url(ack.incident)}))
    try:
        ack = tokens.check(token, now=now, action=action)
    except tokens.TokenRefused as refused:
        return link_refused(request, refused.reason, refused.status)
    # Only the reference and the title: the holder was paged for it, and security incidents keep
    # their details for those who sign in.
    return private_page(render(request, "notify/ack_confirm.html", {
        "incident": ack.incident, "action": action, "incident_url": links.incident_url(ack.incident)}))


@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
def acknowledge(request, token):
    return _page(request, token, AckToken.ACKNOWLEDGE)


@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
def resolve(request, token):
    return _page(request, token, AckToken.RESOLVE)
