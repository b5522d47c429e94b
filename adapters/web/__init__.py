"""The secure page for people on neither chat platform."""
