"""Optional catch-all through Apprise's 100+ services, when the `apprise` extra is installed (F1)."""

from urllib.parse import urlsplit

import httpx

from .base import DELIVERED, FAILED, Message, Outcome, Provider, register
from .safety import host_refusal

try:
    import apprise as apprise_library
except ImportError:  # an optional extra: pip install 'tocsin[apprise]'
    apprise_library = None

NOT_INSTALLED = "Apprise is not installed (pip install apprise)"


@register
class Apprise(Provider):
    kind = "apprise"
    channels = ("chat",)

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        if apprise_library is None:
            return Outcome(FAILED, error=NOT_INSTALLED)
        # The target URL is a credential, kept with the secrets; rows saved before kept it in the settings.
        url = message.to or self.config.secrets.get("url") or self.config.settings.get("url", "")
        notifier = apprise_library.Apprise()
        # Apprise URLs hold the service's token: the error names the scheme, never the URL.
        if not url or not notifier.add(url):
            return Outcome(FAILED, error=f"not an Apprise URL Apprise can use (scheme '{url.partition(':')[0]}')")
        # Whatever the scheme (json://, xml://, form://… post to any host), no private targets.
        host = urlsplit(url).hostname
        refused = await host_refusal(host, self.config.settings) if host else ""
        if refused:
            return Outcome(FAILED, error=refused)
        # Apprise runs its blocking plugins in a thread pool of its own.
        taken = await notifier.async_notify(body=message.text or message.subject, title=message.subject)
        if taken:
            return Outcome(DELIVERED)
        return Outcome(FAILED, error="Apprise could not notify the service", transient=True)

    async def check(self, client: httpx.AsyncClient) -> str:
        return NOT_INSTALLED if apprise_library is None else ""
