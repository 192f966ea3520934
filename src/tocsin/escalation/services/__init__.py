"""Escalation use cases: policies and their versions, the service link, and advancing by hand."""

from .policies import create_policy, delete_policy, revise_policy  # noqa: F401
from .links import link_service, unlink_service  # noqa: F401
