"""Per-request context (request id, client IP) carried in context variables for logs and audit."""

import contextvars

request_id = contextvars.ContextVar("tocsin_request_id", default="")
client_ip = contextvars.ContextVar("tocsin_client_ip", default="")
