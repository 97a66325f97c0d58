"""Postmortems and action items in the console."""
