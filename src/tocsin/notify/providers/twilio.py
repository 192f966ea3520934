"""SMS and voice calls through Twilio's REST API over httpx (F1); TwiML with the `twilio` package."""

import os

import httpx
from twilio.twiml.voice_response import Gather, VoiceResponse

from .base import FAILED, SENT, TIMEOUT, Config, Message, Outcome, Provider, register
from .safety import without_contacts

DEFAULT_BASE_URL = "https://api.twilio.com"
ACK_PROMPT = "Press 1 to acknowledge, 2 to escalate."
NO_KEY_PRESSED = "No key was pressed. The incident is not acknowledged. Goodbye."


def from_environment(name="twilio", **settings):
    """A Config from TOCSIN_TWILIO_ACCOUNT_SID / _AUTH_TOKEN / _FROM / _BASE_URL, or None when the
    credentials are not both set."""
    sid = os.environ.get("TOCSIN_TWILIO_ACCOUNT_SID", "")
    token = os.environ.get("TOCSIN_TWILIO_AUTH_TOKEN", "")
    if not (sid and token):
        return None
    base = os.environ.get("TOCSIN_TWILIO_BASE_URL", "")
    if base:
        settings.setdefault("base_url", base)
    if os.environ.get("TOCSIN_TWILIO_FROM"):
        settings.setdefault("from_number", os.environ["TOCSIN_TWILIO_FROM"])
    return Config(name=name, kind="twilio", settings=settings, secrets={"account_sid": sid, "auth_token": token})


def twiml_for_call(text, gather_url):
    """What a voice page says: the message twice, then one keypress. A call that ends without a
    keypress (voicemail, a hang-up) falls through to the closing words and acknowledges nothing."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=gather_url, method="POST")
    gather.say(text)
    gather.pause(length=1)
    gather.say(text)
    gather.say(ACK_PROMPT)
    response.append(gather)
    response.say(NO_KEY_PRESSED)
    return str(response)


def _error_of(response):
    """Twilio's error JSON (`code`, `message`) as one line, phone numbers masked."""
    try:
        body = response.json()
        text = f"Twilio {body.get('code', '')}: {body.get('message', '')}".strip()
    except ValueError:
        text = response.text[:200]
    return without_contacts(f"HTTP {response.status_code}: {text}")[:400]


@register
class Twilio(Provider):
    kind = "twilio"
    channels = ("sms", "voice")

    @property
    def base_url(self):
        base = self.config.settings.get("base_url") or os.environ.get("TOCSIN_TWILIO_BASE_URL") or DEFAULT_BASE_URL
        return base.rstrip("/")

    def _account(self):
        secrets = self.config.secrets
        sid, token = secrets.get("account_sid", ""), secrets.get("auth_token", "")
        if not (sid and token):
            return None
        return f"{self.base_url}/2010-04-01/Accounts/{sid}", httpx.BasicAuth(sid, token)

    def _timeout(self):
        seconds = self.config.settings.get("timeout")
        return httpx.Timeout(float(seconds)) if seconds else TIMEOUT

    def _form(self, message):
        settings = self.config.settings
        form = {"To": message.to}
        if message.channel == "voice":
            if not settings.get("from_number"):
                return None, "settings.from_number is missing (voice calls need a caller number)"
            if not message.voice_url:
                return None, "the message has no voice_url for the call's TwiML"
            form.update(From=settings["from_number"], Url=message.voice_url)
            if message.status_callback:
                form.update(StatusCallback=message.status_callback, StatusCallbackEvent="completed")
            if settings.get("machine_detection"):
                form["MachineDetection"] = settings["machine_detection"]  # "Enable" or "DetectMessageEnd"
            return form, ""
        if settings.get("messaging_service_sid"):
            form["MessagingServiceSid"] = settings["messaging_service_sid"]
        elif settings.get("from_number"):
            form["From"] = settings["from_number"]
        else:
            return None, "settings.from_number or settings.messaging_service_sid is missing"
        form["Body"] = message.text
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        return form, ""

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        if message.channel not in self.channels:
            return Outcome(FAILED, error=f"Twilio does not send the channel '{message.channel}'")
        account = self._account()
        if account is None:
            return Outcome(FAILED, error="secrets.account_sid and secrets.auth_token are required")
        form, problem = self._form(message)
        if problem:
            return Outcome(FAILED, error=problem)
        resource, auth = account
        url = f"{resource}/{'Calls' if message.channel == 'voice' else 'Messages'}.json"
        headers = {"I-Twilio-Idempotency-Token": message.key} if message.key else {}
        try:
            response = await client.post(url, data=form, auth=auth, headers=headers, timeout=self._timeout())
        except httpx.TimeoutException:
            return Outcome(FAILED, error="Twilio did not answer in time", transient=True)
        except httpx.HTTPError as exc:
            return Outcome(FAILED, error=f"Twilio unreachable: {type(exc).__name__}", transient=True)
        if response.is_success:
            try:
                sid = response.json().get("sid", "")
            except ValueError:
                sid = ""
            return Outcome(SENT, provider_message_id=sid)
        status = response.status_code
        return Outcome(FAILED, error=_error_of(response), transient=status == 429 or status >= 500)

    async def check(self, client: httpx.AsyncClient) -> str:
        account = self._account()
        if account is None:
            return "secrets.account_sid and secrets.auth_token are required"
        resource, auth = account
        try:
            response = await client.get(f"{resource}.json", auth=auth, timeout=self._timeout())
        except httpx.HTTPError as exc:
            return f"Twilio unreachable: {type(exc).__name__}"
        return "" if response.is_success else _error_of(response)
