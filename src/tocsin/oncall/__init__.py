"""On-call schedules: rotations, layers, overrides; who is on call at an instant."""
