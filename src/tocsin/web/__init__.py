"""The responder console: server-rendered pages for people working an incident."""
