"""Prepay: prepaid utility vending and metering."""

__version__ = "0.1.0"
