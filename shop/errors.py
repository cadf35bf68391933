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


class TooManyAttempts(ShopError):
    """A guest made too many failed order look-ups; they must wait before the next.

    Attributes:
        retry_after: Seconds until the oldest counted failure expires.
    """

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed order look-ups; retry in {retry_after:.0f} s")
        self.retry_after = retry_after
