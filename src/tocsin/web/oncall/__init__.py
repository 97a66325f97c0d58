"""The on-call page: who is on call now, shifts by week or month, overrides, iCal links."""
