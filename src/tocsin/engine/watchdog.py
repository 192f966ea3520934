"""The outbound watchdog: while the engine loop is healthy, ping TOCSIN_WATCHDOG_URL every minute,
so an external dead-man switch learns when Tocsin stops."""

import logging
import threading
import time

import httpx

log = logging.getLogger("tocsin.engine")
INTERVAL_SECONDS = 60


class Watchdog:
    def __init__(self, url, alive, stop: threading.Event, interval=INTERVAL_SECONDS):
        self.url = url
        self.alive = alive  # () -> bool: the engine loop went round recently
        self.stop = stop
        self.interval = interval

    def ping_once(self):
        if not self.alive():
            log.warning("engine loop is stuck; withholding the watchdog ping")
            return False
        try:
            response = httpx.get(self.url, timeout=10)
            response.raise_for_status()
            return True
        except httpx.HTTPError as exc:
            # The URL may carry a secret token: log the failure's kind only.
            log.warning("watchdog ping failed", extra={"error": type(exc).__name__})
            return False

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            self.ping_once()
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self):
        thread = threading.Thread(target=self.run, name="engine-watchdog", daemon=True)
        thread.start()
        return thread
