"""Model fields that keep personal data encrypted at rest."""

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext (randomised: equal values give different ciphertexts).

    Only `isnull` lookups are allowed: any other filter would compare ciphertext and
    silently match nothing. Look values up through a blind index instead."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise TypeError(
                f"{self.model.__name__}.{self.name} is encrypted; filter on its blind index, "
                f"not with '{lookup_name}'."
            )
        return super().get_lookup(lookup_name)


def encrypted_fields():
    """Every (model, field) pair that holds ciphertext, history tables included."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field
