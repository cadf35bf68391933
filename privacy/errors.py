"""The privacy package's errors (one root)."""

from __future__ import annotations


class PrivacyError(Exception):
    """Root of this package's errors."""


class UnknownCustomer(PrivacyError):
    """No store knows this customer id."""
