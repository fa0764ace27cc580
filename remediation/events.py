"""Pushing run events to browsers through the Channels layer (best effort).

The database holds the history; a push that fails (Redis restarting, say) loses
nothing a browser cannot get back by reconnecting.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def publish_run_event(run_id: int, event: dict[str, Any]) -> bool:
    """Send one event to everyone watching the run; False when the layer is unreachable."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(run_group(run_id), {"type": "run.event", "event": event})
    except Exception as exc:  # noqa: BLE001 - any transport failure is only logged
        logger.warning("could not push event of run %s: %s", run_id, type(exc).__name__)
        return False
    return True
