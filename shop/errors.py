"""Errors raised by the :mod:`shop` package."""

from __future__ import annotations


class ShopError(Exception):
    """Root of every error the shop package raises."""


class InvalidOrderNumber(ShopError):
    """The text is not an order number in the shop's format."""


class OrderNotFound(ShopError):
    """No order with this number is visible to the caller.

    Raised both for numbers that do not exist and for orders of another
    customer, so that order numbers cannot be probed.
    """
