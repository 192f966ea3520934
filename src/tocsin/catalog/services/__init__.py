"""Catalogue use cases: the only code that changes catalogue state. Each function runs in a
transaction, takes the acting user explicitly and writes the audit log."""

from .catalogue import create_service, delete_service, set_bia, update_service
from .dependencies import add_dependency, remove_dependency
from .legacy import approve_exception, request_exception

__all__ = [
    "add_dependency", "approve_exception", "create_service", "delete_service", "remove_dependency",
    "request_exception", "set_bia", "update_service",
]
