"""Base for Tocsin's commands: help shows `tocsin <name>` rather than Django's names."""

from django.core.management.base import BaseCommand


class TocsinCommand(BaseCommand):
    cli_name = ""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.prog = f"tocsin {self.cli_name or subcommand.replace('_', '-')}"
        return parser
