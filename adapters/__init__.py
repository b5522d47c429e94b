"""Platform adapters: the command line, the console demo, Slack and Teams, over the core in `bot`."""
