"""Real servers the tests start for themselves (not fakes): PostgreSQL."""
