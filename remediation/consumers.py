"""The websocket a run page listens on: history first, then the live stream."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from remediation.events import run_group
from remediation.models import RemediationRun
from remediation.selectors import runs_visible_to
from remediation.services.runs import run_event_payload


@database_sync_to_async
def _visible_run(user: Any, run_id: int) -> RemediationRun | None:
    return runs_visible_to(user).filter(pk=run_id).first()


@database_sync_to_async
def _history(run: RemediationRun) -> list[dict[str, Any]]:
    run.refresh_from_db()
    return [run_event_payload(event, run) for event in run.events.order_by("seq")]


class RunConsumer(AsyncJsonWebsocketConsumer):
    """Checks login and permission on the run before joining its group."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        run = await _visible_run(user, run_id) if user and user.is_authenticated else None
        if run is None:
            # Refused before the handshake completes: the browser sees a 403, and an
            # unknown run looks the same as a forbidden one.
            await self.close()
            return
        self.group = run_group(run_id)
        # Join before reading the history, so no event falls between the two; the
        # browser drops duplicates by sequence number.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "history", "events": await _history(run)})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Browsers only listen; anything they send is ignored."""

    async def run_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "event": message["event"]})
