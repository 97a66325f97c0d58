"""Tocsin: incident response run by policy, on durable timers."""

__version__ = "0.1.0"
