"""The log crawler's REST API, mounted at /api/logs/ by config.urls (see `urls`)."""
