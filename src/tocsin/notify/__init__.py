"""Notifications: an outbox of messages, delivered by jobs through e-mail and webhooks."""
