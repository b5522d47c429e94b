"""The Slack adapter: slack-bolt (async) on aiohttp, a thin translation over the core."""
