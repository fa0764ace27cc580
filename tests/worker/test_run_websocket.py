"""The run's websocket through the full ASGI stack (sessions, origin check, Redis layer)."""

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from remediation.services.runs import run_event_record
from tests.conftest import PASSWORD
from unlearn_site.asgi import application


def cookie_for(username: str) -> bytes:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(run_id: int, cookie: bytes | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/runs/{run_id}/", headers=headers)


@async_to_sync
async def try_connect(run_id: int, cookie: bytes | None) -> bool:
    socket = communicator(run_id, cookie)
    connected, _ = await socket.connect()
    await socket.disconnect()
    return connected


def test_a_user_who_may_not_see_the_run_is_refused(redis_server, plan_run, mallory):
    # given
    run = plan_run(approve=False)
    # when / then: another requester, an anonymous visitor, and a run that does not exist
    assert try_connect(run.pk, cookie_for("mallory")) is False
    assert try_connect(run.pk, None) is False
    assert try_connect(run.pk + 1000, cookie_for("dave")) is False


def test_a_watcher_gets_the_history_then_the_events_in_order(redis_server, plan_run, dave):
    # given: a run with one event already recorded
    run = plan_run(approve=False)
    run_event_record(run, kind="log", message="planned")
    cookie = cookie_for("dave")

    @async_to_sync
    async def watch() -> tuple[dict, list[dict]]:
        socket = communicator(run.pk, cookie)
        connected, _ = await socket.connect()
        assert connected
        history = await socket.receive_json_from(timeout=10)
        # when: three more events happen while the browser listens
        from channels.db import database_sync_to_async

        for step in range(1, 4):
            await database_sync_to_async(run_event_record)(
                run,
                kind="progress",
                phase="remediate",
                step=step,
                total=3,
                metrics={"forget_loss": 1.0 / step},
            )
        live = [await socket.receive_json_from(timeout=10) for _ in range(3)]
        await socket.disconnect()
        return history, live

    history, live = watch()
    # then
    assert history["type"] == "history"
    assert [e["message"] for e in history["events"]] == ["planned"]
    assert [m["event"]["step"] for m in live] == [1, 2, 3]
    seqs = [m["event"]["seq"] for m in live]
    assert seqs == sorted(seqs) and seqs[0] > history["events"][-1]["seq"]
