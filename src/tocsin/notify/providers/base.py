"""The one small interface every provider implements: `await send(message) -> Outcome`.

A provider is made from its configuration (a `Provider` row's name, settings and decrypted
secrets) and sends with the shared async HTTP client it is given; it never touches the database.
Status callbacks (Twilio's, for example) come back through the notify views, which find the
attempt by `Outcome.provider_message_id`."""

from dataclasses import dataclass, field

import httpx

# What a send can come to. "sent": the provider took it (a callback may say more later);
# "delivered": the provider confirms delivery at once (SMTP's 250, a webhook's 2xx).
SENT, DELIVERED, FAILED = "sent", "delivered", "failed"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class Config:
    name: str
    kind: str
    settings: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)


@dataclass
class Message:
    """One rendered message to one destination."""

    channel: str  # email, sms, voice, chat, webhook
    to: str  # an e-mail address, an E.164 number, a URL (webhook, chat, Apprise)
    subject: str
    text: str
    html: str = ""
    data: dict = field(default_factory=dict)  # structured facts: incident number, links, urgency…
    key: str = ""  # our message id: idempotency key where the provider takes one, Message-ID for mail
    status_callback: str = ""  # absolute URL the provider posts delivery status to, if it can
    voice_url: str = ""  # absolute URL of the TwiML that a voice call fetches


@dataclass
class Outcome:
    status: str  # SENT, DELIVERED or FAILED
    provider_message_id: str = ""
    error: str = ""
    # A failure worth retrying through the same provider (a 5xx, a timeout, a 429), as opposed to a
    # hard one (a 4xx such as an invalid number), which falls back to the next method at once.
    transient: bool = False


class ProviderError(Exception):
    def __init__(self, error, *, transient):
        super().__init__(error)
        self.transient = transient


class Provider:
    kind = ""
    channels: tuple = ()

    def __init__(self, config: Config):
        self.config = config

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        raise NotImplementedError

    async def check(self, client: httpx.AsyncClient) -> str:
        """'' when the provider looks usable, else what is wrong (for failover and the UI)."""
        return ""


_kinds = {}


def register(cls):
    _kinds[cls.kind] = cls
    return cls


def implementation(kind):
    """The provider class of `kind`, or None."""
    return _kinds.get(kind)


def build(config: Config) -> Provider:
    try:
        return _kinds[config.kind](config)
    except KeyError:
        raise LookupError(f"no provider implementation for kind '{config.kind}'") from None


def http_outcome(response: httpx.Response, provider_message_id="", delivered=False) -> Outcome:
    """The usual reading of an HTTP provider's answer: 2xx taken, 429 and 5xx worth a retry,
    any other 4xx a hard failure."""
    if response.is_success:
        return Outcome(DELIVERED if delivered else SENT, provider_message_id)
    error = f"HTTP {response.status_code}: {response.text[:200]}"
    return Outcome(FAILED, error=error, transient=response.status_code == 429 or response.status_code >= 500)
