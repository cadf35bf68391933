"""Errors of the pricing package."""

from __future__ import annotations


class PricingError(Exception):
    """Root of every error the pricing package raises."""


class ConfigError(PricingError, ValueError):
    """A pricing setting is negative, absurd or inconsistent."""


class UnknownProduct(PricingError, LookupError):
    """The product to price is not in the catalog."""


class PolicyError(PricingError):
    """A policy artefact is missing, corrupt or does not fit the configuration."""


class CouponError(PricingError):
    """A coupon cannot be issued or redeemed (unknown, used, expired, not yours)."""
