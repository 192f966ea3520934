"""The local test servers speak their protocols as the real services do, so that tests built on
them (providers, dispatch, acknowledgements) test something real."""

import smtplib
from email.message import EmailMessage

import httpx
import pytest
from twilio.request_validator import RequestValidator

from .servers import free_port

NUMBER = "+15005550006"


def test_smtp_sink_collects_messages_and_injects_failures(smtp_sink):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.org", "b@example.org", "Hello"
    mail.set_content("body")
    with smtplib.SMTP("127.0.0.1", smtp_sink.port) as client:
        client.send_message(mail)
        smtp_sink.fail_next(550, "No such user", stage="RCPT")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(mail)
        assert refused.value.recipients["b@example.org"][0] == 550
        smtp_sink.fail_next(451, "Try again later")
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            client.send_message(mail)
        assert deferred.value.smtp_code == 451
    [received] = smtp_sink.wait_for(1)
    assert received["Subject"] == "Hello" and received.get_content().strip() == "body"
    with pytest.raises(AssertionError, match="expected 2 messages, got 1"):
        smtp_sink.wait_for(2, timeout=0.2)
    with pytest.raises(ValueError):
        smtp_sink.fail_next(550, stage="HELO")


def test_webhook_receiver_records_and_answers_as_told(webhook_receiver):
    assert httpx.post(f"{webhook_receiver.url}/a?x=1", json={"k": "v"}).text == "ok"
    webhook_receiver.respond_with(201, {"id": 7})
    webhook_receiver.respond_with(404, "nope", path="/missing")
    assert httpx.put(f"{webhook_receiver.url}/b", content=b"raw").json() == {"id": 7}
    assert httpx.get(f"{webhook_receiver.url}/missing").status_code == 404
    first, second, third = webhook_receiver.wait_for(3)
    assert (first.method, first.path, first.query, first.json()) == ("POST", "/a", {"x": ["1"]}, {"k": "v"})
    assert first.headers["content-type"] == "application/json"
    assert (second.method, second.body, third.path) == ("PUT", b"raw", "/missing")


def account(stub):
    return f"{stub.url}/2010-04-01/Accounts/{stub.account_sid}"


def test_twilio_stub_insists_on_basic_auth_and_answers_errors_in_twilio_shape(twilio_stub):
    auth = (twilio_stub.account_sid, twilio_stub.auth_token)
    response = httpx.post(f"{account(twilio_stub)}/Messages.json", data={"To": NUMBER, "From": "+15005550001",
                                                                         "Body": "x"})
    assert response.status_code == 401 and response.json()["code"] == 20003
    response = httpx.post(f"{account(twilio_stub)}/Messages.json", data={"To": NUMBER, "From": "+1500"},
                          auth=auth)
    assert response.status_code == 400
    assert response.json() == {"code": 21602, "message": "Message body is required.",
                               "more_info": "https://www.twilio.com/docs/errors/21602", "status": 400}
    response = httpx.post(f"{account(twilio_stub)}/Calls.json", data={"To": NUMBER, "From": "+15005550001"},
                          auth=auth)
    assert (response.status_code, response.json()["code"]) == (400, 21205)
    assert httpx.get(f"{twilio_stub.url}/2010-04-01/Accounts/{twilio_stub.account_sid}/Queues.json",
                     auth=auth).status_code == 404
    assert httpx.get(f"{account(twilio_stub)}.json", auth=auth).json()["status"] == "active"
    assert twilio_stub.messages == [] and twilio_stub.calls == []


def test_twilio_stub_reports_scripted_statuses_and_records_unreachable_callbacks(twilio_stub, webhook_receiver):
    auth = (twilio_stub.account_sid, twilio_stub.auth_token)
    twilio_stub.script(NUMBER, ["undelivered"])
    status_url = f"{webhook_receiver.url}/status"
    response = httpx.post(f"{account(twilio_stub)}/Messages.json", auth=auth, data={
        "To": NUMBER, "From": "+15005550001", "Body": "x", "StatusCallback": status_url})
    assert response.status_code == 201 and response.json()["status"] == "queued"
    dead = f"http://127.0.0.1:{free_port()}/status"
    httpx.post(f"{account(twilio_stub)}/Messages.json", auth=auth, data={
        "To": "+15005550007", "From": "+15005550001", "Body": "y", "StatusCallback": dead})
    twilio_stub.settle()
    [callback] = webhook_receiver.wait_for(1)
    form = callback.form()
    assert (form["MessageStatus"], form["MessageSid"]) == ("undelivered", response.json()["sid"])
    assert RequestValidator(twilio_stub.auth_token).validate(status_url, form, callback.headers["X-Twilio-Signature"])
    failed = [c for c in twilio_stub.callbacks if c["url"] == dead]
    assert len(failed) == 3 and all(c["status"] is None and c["error"] for c in failed)
