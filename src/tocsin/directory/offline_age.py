"""Passphrase encryption of the offline list in the age format, so `age -d` opens it without Tocsin."""

import pyrage

from . import offline

MIN_PASSPHRASE = 12
SUFFIX = ".tar.age"


class PassphraseError(ValueError):
    """The passphrase is unusable; the message is safe to show (it never contains the passphrase)."""


def check_passphrase(passphrase):
    if not passphrase or not passphrase.strip():
        raise PassphraseError("A passphrase is required: the offline list holds personal data.")
    if len(passphrase) < MIN_PASSPHRASE:
        raise PassphraseError(f"The passphrase must be at least {MIN_PASSPHRASE} characters long.")


def encrypt(data: bytes, passphrase: str) -> bytes:
    """age scrypt recipient, binary form; rage tunes the work factor to about a second, well under age's limit."""
    check_passphrase(passphrase)
    return pyrage.passphrase.encrypt(data, passphrase)


def export(scope, passphrase, fmt="json", at=None):
    """Collect, archive and encrypt the list; returns (ciphertext, manifest). Nothing is audited here:
    the caller records the export once the ciphertext is on its way."""
    check_passphrase(passphrase)  # before collecting, so a bad passphrase costs no decryption work
    if fmt not in offline.FORMATS:
        raise ValueError(f"Unknown format '{fmt}'; use one of {', '.join(offline.FORMATS)}.")
    data = offline.collect(scope, at)
    tar, manifest = offline.archive(data, fmt)
    return encrypt(tar, passphrase), manifest


def filename(scope, manifest):
    stamp = manifest["generated_at"][:19].replace("-", "").replace(":", "")
    return f"tocsin-contacts-{scope.file_stem}-{stamp}Z{SUFFIX}"
