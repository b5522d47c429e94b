"""Partnership escalation policies as data files, one YAML file per partnership, and their schema."""
