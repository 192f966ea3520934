from cryptography.fernet import Fernet

from tocsin.core.management.base import TocsinCommand


class Command(TocsinCommand):
    help = "Print a new key for TOCSIN_ENCRYPTION_KEYS (put it first; keep older keys after it until rotate-keys has run)."

    def handle(self, *args, **options):
        self.stdout.write(Fernet.generate_key().decode())
