"""Errors every service shares."""


class ConfigurationError(Exception):
    """The environment does not describe a service that can start."""
