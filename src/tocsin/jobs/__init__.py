"""Durable jobs: timers and outbox rows written in the transaction that causes them."""
