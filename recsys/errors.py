"""Errors raised by the :mod:`recsys` package."""

from __future__ import annotations


class RecsysError(Exception):
    """Root of every error the recsys package raises."""


class NotFittedError(RecsysError):
    """A model was asked for recommendations before :meth:`fit`."""


class ConfigError(RecsysError, ValueError):
    """A configuration value is missing, malformed or out of range."""


class ArtifactError(RecsysError):
    """A saved model is missing, incomplete or from an incompatible version."""
