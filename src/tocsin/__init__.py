"""Tocsin: IT service continuity and incident response."""
