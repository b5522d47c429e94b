"""Email delivery for people on neither chat platform."""
