"""The outbound watchdog pings a real HTTP server while the engine loop is healthy, withholds the ping
when it is stuck, and never logs the URL (it usually carries a secret token)."""

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tocsin.engine.watchdog import Watchdog


class DeadManSwitch(BaseHTTPRequestHandler):
    pings = []
    status = 200

    def do_GET(self):  # noqa: N802 - the http.server API
        DeadManSwitch.pings.append(self.path)
        self.send_response(DeadManSwitch.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def switch():
    DeadManSwitch.pings, DeadManSwitch.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), DeadManSwitch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ping/secret-token-123"
    server.shutdown()


def test_a_healthy_engine_pings_the_switch(switch):
    assert Watchdog(switch, lambda: True, threading.Event()).ping_once()
    assert DeadManSwitch.pings == ["/ping/secret-token-123"]


def test_a_stuck_engine_withholds_the_ping(switch):
    assert not Watchdog(switch, lambda: False, threading.Event()).ping_once()
    assert DeadManSwitch.pings == []


def test_a_failing_switch_is_logged_without_its_url(switch, caplog):
    DeadManSwitch.status = 503
    with caplog.at_level(logging.WARNING, logger="tocsin.engine"):
        assert not Watchdog(switch, lambda: True, threading.Event()).ping_once()
    assert "watchdog ping failed" in caplog.text and "secret-token" not in caplog.text


def test_the_watchdog_pings_every_interval_until_stopped(switch):
    stop = threading.Event()
    dog = Watchdog(switch, lambda: True, stop, interval=0.05)
    thread = dog.start()
    for _ in range(200):
        if len(DeadManSwitch.pings) >= 3:
            break
        stop.wait(0.05)
    stop.set()
    thread.join(5)
    assert len(DeadManSwitch.pings) >= 3 and not thread.is_alive()
