"""Communications: message templates per locale, rendered with an incident's real fields,
and the routes that send them when an incident reaches a stage or lasts too long."""
