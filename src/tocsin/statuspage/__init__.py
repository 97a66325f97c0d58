"""The public status page: components, public incidents, scheduled maintenance,
subscribers, and the Statuspage-compatible JSON built from them."""
