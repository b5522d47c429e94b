"""The Microsoft Teams adapter: botbuilder's CloudAdapter on aiohttp, Adaptive Cards over the core."""
