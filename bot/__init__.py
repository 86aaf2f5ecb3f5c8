"""Krishi Learn: the service (app, channels, sender, payments, i18n, CLI)."""
