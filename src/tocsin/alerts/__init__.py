"""Alerts: integrations, the PagerDuty-compatible door and other adapters, de-duplication,
and the way from alerts to incidents."""
