"""SMS through any HTTP gateway described by settings: URL, method, a body template, headers (F1)."""

import json
import re

import httpx

from .base import FAILED, SENT, TIMEOUT, Message, Outcome, Provider, register
from .safety import without_contacts

PLACEHOLDERS = ("to", "text", "from", "key")
# Anything in braces that looks like a name: only the four above are values; the rest (attribute
# access, indexing, format specs) is refused rather than half-understood.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
DEFAULT_TEMPLATE = {"to": "{to}", "text": "{text}"}


class TemplateError(ValueError):
    pass


def fill(template, values):
    """`template` (a JSON-like structure) with `{to}`, `{text}`, `{from}`, `{key}` replaced in its
    strings. One pass over each template string: a value that itself contains `{to}` stays literal."""
    if isinstance(template, str):
        def value_of(match):
            name = match.group(1)
            if name not in values:
                raise TemplateError(f"settings.body_template: unknown placeholder '{{{name}}}' "
                                    f"(use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
            return values[name]
        return _PLACEHOLDER.sub(value_of, template)
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    return template


def pick(document, path):
    """The value at a dotted path (`messages.0.id`) of a JSON document, or ''."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return ""
    return "" if isinstance(node, (dict, list)) or node is None else str(node)


@register
class SmsGateway(Provider):
    kind = "sms_gateway"
    channels = ("sms",)

    def _problem(self):
        settings = self.config.settings
        if not str(settings.get("url", "")).startswith(("http://", "https://")):
            return "settings.url must be an http(s) URL"
        if settings.get("method", "POST").upper() not in ("POST", "GET"):
            return "settings.method must be POST or GET"
        content_type = settings.get("content_type", "json")
        if content_type not in ("json", "form"):
            return "settings.content_type must be json or form"
        template = settings.get("body_template", DEFAULT_TEMPLATE)
        if not isinstance(template, dict):
            return "settings.body_template must be an object"
        if (content_type == "form" or settings.get("method", "POST").upper() == "GET") and not all(
                isinstance(v, str) for v in template.values()):
            return "settings.body_template: form and query fields must be strings"
        if not isinstance(settings.get("headers", {}), dict):
            return "settings.headers must be an object"
        header = self.config.secrets.get("auth_header", "")
        if header and ":" not in header:
            return "secrets.auth_header must look like 'Name: value'"
        try:
            fill(template, dict.fromkeys(PLACEHOLDERS, ""))
        except TemplateError as exc:
            return str(exc)
        return ""

    def _success(self, status):
        statuses = self.config.settings.get("success_statuses")
        return status in statuses if statuses else 200 <= status < 300

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        problem = self._problem()
        if problem:
            return Outcome(FAILED, error=problem)
        settings, secrets = self.config.settings, self.config.secrets
        values = {"to": message.to, "text": message.text, "from": str(settings.get("from", "")), "key": message.key}
        body = fill(settings.get("body_template", DEFAULT_TEMPLATE), values)
        headers = {str(k): str(v) for k, v in settings.get("headers", {}).items()}
        if secrets.get("auth_header"):
            name, _, value = secrets["auth_header"].partition(":")
            headers[name.strip()] = value.strip()
        auth = None
        if secrets.get("username"):
            auth = httpx.BasicAuth(secrets["username"], secrets.get("password", ""))
        request = {"headers": headers, "auth": auth,
                   "timeout": httpx.Timeout(float(settings["timeout"])) if settings.get("timeout") else TIMEOUT}
        method = settings.get("method", "POST").upper()
        if method == "GET":
            request["params"] = body
        elif settings.get("content_type", "json") == "form":
            request["data"] = body
        else:
            request["content"] = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            response = await client.request(method, settings["url"], **request)
        except httpx.TimeoutException:
            return Outcome(FAILED, error="the SMS gateway did not answer in time", transient=True)
        except httpx.HTTPError as exc:
            return Outcome(FAILED, error=f"the SMS gateway is unreachable: {type(exc).__name__}", transient=True)
        status = response.status_code
        if not self._success(status):
            error = without_contacts(f"HTTP {status}: {response.text[:200]}")
            return Outcome(FAILED, error=error, transient=status == 429 or status >= 500)
        provider_id = ""
        if settings.get("id_path"):
            try:
                provider_id = pick(response.json(), settings["id_path"])
            except ValueError:
                provider_id = ""  # taken, though the gateway did not say under which id
        return Outcome(SENT, provider_message_id=provider_id[:120])

    async def check(self, client: httpx.AsyncClient) -> str:
        # Gateways have no common health resource; a configuration that cannot send is what we can see.
        return self._problem()
