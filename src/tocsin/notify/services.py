"""Changing notification rules and providers: one function per use case, each audited."""

import json
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit
from tocsin.directory.models import ContactMethod

from .chains import CHANNEL_OF
from .models import URGENCIES, NotificationRule, Provider
from .providers import load
from .providers.apprise import apprise_library
from .providers.base import implementation

MAX_RULES = 10
MAX_DELAY_MINUTES = 24 * 60


def set_notification_rules(person, urgency, rules, *, actor):
    """Replace `person`'s chain for `urgency` with `rules`: [(method id, delay in minutes)], in
    order. An empty list brings the default chain back."""
    if urgency not in dict(URGENCIES):
        raise ValidationError({"urgency": f"'{urgency}' is not an urgency; use high or low."})
    if len(rules) > MAX_RULES:
        raise ValidationError({"rules": f"At most {MAX_RULES} steps per chain."})
    methods = {m.pk: m for m in ContactMethod.objects.filter(person=person, pk__in=[r[0] for r in rules])}
    made = []
    for index, (method_id, delay) in enumerate(rules):
        method = methods.get(method_id)
        if method is None:
            raise ValidationError({f"rules[{index}].method": f"Method {method_id} is not one of {person.name}'s."})
        if method.kind not in CHANNEL_OF:
            raise ValidationError({f"rules[{index}].method": f"A {method.get_kind_display()} method cannot be paged."})
        if not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MINUTES:
            raise ValidationError({f"rules[{index}].delay_minutes": f"Use whole minutes from 0 to {MAX_DELAY_MINUTES}."})
        made.append(NotificationRule(person=person, urgency=urgency, position=index, delay_minutes=delay,
                                     method=method))
    with transaction.atomic():
        NotificationRule.objects.filter(person=person, urgency=urgency).delete()
        NotificationRule.objects.bulk_create(made)
        audit.record(actor, "notify.rules_set", person, summary={
            "urgency": urgency, "steps": [{"kind": r.method.kind, "delay_minutes": r.delay_minutes} for r in made]})
    return made


PROVIDER_FIELDS = {"name", "kind", "channels", "priority", "settings", "enabled", "rate_per_minute", "max_concurrent",
                   "sla_percent", "sla_seconds"}


def _check_provider(provider):
    load()
    cls = implementation(provider.kind)
    if cls is None:
        raise ValidationError({"kind": f"'{provider.kind}' is not a provider kind."})
    if not isinstance(provider.channels, list) or not provider.channels:
        raise ValidationError({"channels": f"Name the channels it serves: {', '.join(cls.channels)}."})
    wrong = [c for c in provider.channels if c not in cls.channels]
    if wrong:
        raise ValidationError({"channels": f"A {provider.kind} provider cannot serve {', '.join(wrong)}."})
    if not isinstance(provider.settings, dict):
        raise ValidationError({"settings": "Settings are a JSON object."})


# Kinds whose target URL carries the receiver's token (a Slack or Teams webhook, an Apprise URL with
# its password): it is kept in the encrypted secrets as "url", never in the plain settings.
URL_KINDS = (Provider.SLACK, Provider.TEAMS, Provider.WEBHOOK_KIND, Provider.APPRISE)
MAX_URL = 2000


def stored_secrets(provider):
    """A provider's decrypted secrets as a dict ({} when none, or when they are not a JSON object)."""
    try:
        value = json.loads(provider.secrets) if provider.secrets else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def stored_url(provider):
    """The target URL a provider of a URL kind sends to when a message names none ('' if none);
    rows saved before it became a secret still have it in their settings."""
    if provider.kind not in URL_KINDS:
        return ""
    url = stored_secrets(provider).get("url") or (provider.settings or {}).get("url")
    return url if isinstance(url, str) else ""


def check_target_url(kind, url):
    """`url` if a `kind` provider can post to it. Errors never quote it: it is a credential."""
    if not isinstance(url, str):
        raise ValidationError({"url": "The URL is a string."})
    if len(url) > MAX_URL:
        raise ValidationError({"url": f"At most {MAX_URL} characters."})
    if any(ch.isspace() for ch in url):
        raise ValidationError({"url": "A URL has no spaces."})
    if kind == Provider.APPRISE:
        scheme, separator, _ = url.partition("://")
        if not separator or not scheme:
            raise ValidationError({"url": "Give an Apprise URL, such as tgram://bottoken/ChatID or json://host/path."})
        if apprise_library is not None and not apprise_library.Apprise().add(url):
            raise ValidationError({"url": f"Apprise cannot use this URL (scheme '{scheme[:20]}')."})
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Give an http:// or https:// URL with a host."})
    return url


def _url_as_secret(provider, stored, stored_target, secrets, settings_given):
    """The secrets to store for a provider of a URL kind, with its URL out of the settings (None:
    they stay as they are). `stored_target` is the URL it had, wherever it was kept.

    A URL given in the settings (where it was kept before) goes into the secrets. New secrets that
    do not name "url" keep the stored URL; "url": "" (or null) forgets it."""
    settings = dict(provider.settings)
    from_settings = settings.pop("url", None)
    provider.settings = settings
    given = settings_given and from_settings is not None
    if secrets is not None and "url" in secrets:
        if given:
            raise ValidationError({"url": "Give the URL once, in secrets.url (settings.url is where rows saved "
                                          "before kept it)."})
        secrets = dict(secrets)
        if secrets["url"]:
            check_target_url(provider.kind, secrets["url"])
        else:
            del secrets["url"]
        return secrets
    if given and from_settings:
        check_target_url(provider.kind, from_settings)
    url = from_settings if given else stored_target
    made = dict(secrets) if secrets is not None else {key: value for key, value in stored.items() if key != "url"}
    if url:
        made["url"] = url
    return None if secrets is None and made == stored else made


def save_provider(provider=None, *, actor, secrets=None, **fields):
    """Create (`provider` None) or change a provider; `secrets` (a dict) replaces the stored ones,
    except that a URL kind keeps its stored URL unless they name "url" (see _url_as_secret)."""
    unknown = set(fields) - PROVIDER_FIELDS
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    creating = provider is None
    provider = provider or Provider()
    stored = {} if creating else stored_secrets(provider)
    stored_target = "" if creating else stored_url(provider)
    for name, value in fields.items():
        setattr(provider, name, value)
    if secrets is not None and not isinstance(secrets, dict):
        raise ValidationError({"secrets": "Secrets are a JSON object."})
    _check_provider(provider)
    if provider.kind in URL_KINDS:
        secrets = _url_as_secret(provider, stored, stored_target, secrets, "settings" in fields)
    if secrets is not None:
        provider.secrets = json.dumps(secrets)
    provider.full_clean(exclude=["secrets"])
    with transaction.atomic():
        provider.save()
        audit.record(actor, "notify.provider_created" if creating else "notify.provider_changed", provider,
                     summary={"name": provider.name, "kind": provider.kind, "fields": sorted(fields),
                              "secrets_changed": secrets is not None})
    return provider
