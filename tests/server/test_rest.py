"""REST: subscribers (resotolib's shapes), system, workflows, history, metrics, config, jobs, OpenAPI."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from tornado.web import RequestHandler

from resoto_rx.app import ResotoRx
from resoto_rx.server import ROUTES, ResotoServer
from resoto_rx.server.app import WEBSOCKET_ROUTES, route_methods
from resoto_rx.server.rest import openapi_document
from tests.server.conftest import WAIT, Serve, body_json, fetch


async def test_subscription_lifecycle_with_resotolib_query_flags(server: ResotoServer) -> None:
    url = server.url + "/subscriber/worker/collect?timeout=30&wait_for_completion=False"
    response = await fetch(url, "POST")
    assert response.code == 200
    assert body_json(response) == {
        "id": "worker",
        "subscriptions": {"collect": {"message_type": "collect", "timeout": 30, "wait_for_completion": False}},
    }
    await fetch(server.url + "/subscriber/worker/cleanup?wait_for_completion=True", "POST")
    assert [s["id"] for s in body_json(await fetch(server.url + "/subscribers"))] == ["worker"]
    assert body_json(await fetch(server.url + "/subscribers/for/cleanup"))[0]["subscriptions"]["cleanup"] == {
        "message_type": "cleanup", "timeout": 60, "wait_for_completion": True}
    assert body_json(await fetch(server.url + "/subscribers/for/nothing")) == []
    removed = await fetch(server.url + "/subscriber/worker/collect", "DELETE")
    assert list(body_json(removed)["subscriptions"]) == ["cleanup"]
    put = await fetch(server.url + "/subscriber/worker", "PUT",
                      orjson.dumps([{"message_type": "a", "timeout": 5, "wait_for_completion": False}]))
    assert body_json(put)["subscriptions"] == {"a": {"message_type": "a", "timeout": 5, "wait_for_completion": False}}
    assert (await fetch(server.url + "/subscriber/worker", "DELETE")).code == 204
    missing = await fetch(server.url + "/subscriber/worker")
    assert missing.code == 404 and "worker" in body_json(missing)["error"]


@pytest.mark.parametrize(
    ("query", "problem"),
    [("wait_for_completion=maybe", "wait_for_completion: expected true or false, got 'maybe'"),
     ("timeout=soon", "timeout: expected a number >= 0, got 'soon'"),
     ("timeout=-1", "timeout: expected a number >= 0, got '-1'")],
)
async def test_bad_subscription_arguments_are_named(server: ResotoServer, query: str, problem: str) -> None:
    response = await fetch(server.url + f"/subscriber/w/collect?{query}", "POST")
    assert response.code == 400 and body_json(response)["error"] == problem


async def test_put_subscriber_with_a_bad_body_is_400(server: ResotoServer) -> None:
    for body, problem in ((b"{", "invalid JSON"), (b'{"a": 1}', "expected a list"),
                          (b'[{"message_type": "a", "timeout": "x"}]', "timeout must be a number")):
        response = await fetch(server.url + "/subscriber/w", "PUT", body)
        assert response.code == 400 and problem in body_json(response)["error"]


async def test_system_ping_and_ready(server: ResotoServer) -> None:
    ping = await fetch(server.url + "/system/ping")
    assert (ping.code, ping.body, ping.headers["Content-Type"].split(";")[0]) == (200, b"pong", "text/plain")
    assert (await fetch(server.url + "/system/ready")).body == b"ok"


async def test_workflows_run_running_stop_and_runs(server: ResotoServer, core: ResotoRx) -> None:
    workflows = body_json(await fetch(server.url + "/workflows"))
    assert {w["id"] for w in workflows} >= {"collect", "cleanup", "metrics", "collect_and_cleanup"}
    collect = next(w for w in workflows if w["id"] == "collect")
    assert [s["name"] for s in collect["steps"]][:2] == ["pre_collect", "collect"]
    core.runner.registry.add_subscription("slow", "collect", timeout=3600)  # keeps the task running
    started = await fetch(server.url + "/workflows/collect/run", "POST")
    assert started.code == 202
    task_id = body_json(started)["task_id"]
    assert [t["task_id"] for t in body_json(await fetch(server.url + "/workflows/running"))] == [task_id]
    stopped = await fetch(server.url + f"/workflows/running/{task_id}/stop", "POST")
    assert body_json(stopped)["status"] == "stopped"
    assert (await fetch(server.url + f"/workflows/running/{task_id}/stop", "POST")).code == 404
    runs = body_json(await fetch(server.url + "/workflows/runs?workflow=collect"))
    assert [(r["task_id"], r["status"]) for r in runs] == [(task_id, "stopped")]
    unknown = await fetch(server.url + "/workflows/nope/run", "POST")
    assert unknown.code == 404 and "known workflows: " in body_json(unknown)["error"]


async def test_history_since_limit_and_type(server: ResotoServer, core: ResotoRx) -> None:
    start = core.bus.last_id
    for i in range(30):
        core.bus.emit("even" if i % 2 == 0 else "odd", {"i": i})
    page = body_json(await fetch(server.url + f"/history?since={start}&limit=5&type=odd"))
    assert [m["data"]["i"] for m in page] == [1, 3, 5, 7, 9]
    assert all(set(m) == {"kind", "message_type", "data", "id", "at"} for m in page)
    both = body_json(await fetch(server.url + f"/history?since={start + 28}&type=odd,even"))
    assert [m["data"]["i"] for m in both] == [28, 29]
    bad = await fetch(server.url + "/history?limit=0")
    assert bad.code == 400 and "limit" in body_json(bad)["error"]


async def test_metrics_in_prometheus_format_with_demo_metrics(serve: Serve) -> None:
    with ResotoRx(store=None, schedule=None) as demo_core:
        server = await serve(demo_core)
        await asyncio.wait_for(demo_core.run("collect"), WAIT)
        response = await fetch(server.url + "/metrics")
    text = response.body.decode()
    assert response.headers["Content-Type"].startswith("text/plain")
    assert 'resoto_rx_bus_messages_total{kind="action"}' in text
    assert "resoto_rx_websocket_slow_clients_disconnected_total 0.0" in text
    assert "resoto_resources{" in text and "resoto_instance_cores{" in text
    assert 'resoto_rx_workflow_runs_kept{status="done",workflow="collect"} 1.0' in text


async def test_config_endpoints(server: ResotoServer) -> None:
    put = await fetch(server.url + "/config/my.cfg", "PUT", b'{"a": {"b": 1}}')
    assert put.code == 200 and body_json(put) == {"a": {"b": 1}}
    revision = put.headers["Resoto-Config-Revision"]
    patched = await fetch(server.url + "/config/my.cfg", "PATCH", b'{"a": {"c": 2}}')
    assert body_json(patched) == {"a": {"b": 1, "c": 2}} and patched.headers["Resoto-Config-Revision"] != revision
    assert "my.cfg" in body_json(await fetch(server.url + "/configs"))
    bad = await fetch(server.url + "/config/my.cfg", "PUT", b"[1]")
    assert bad.code == 400 and "expected a JSON object" in body_json(bad)["error"]
    assert (await fetch(server.url + "/config/my.cfg", "DELETE")).code == 204
    assert (await fetch(server.url + "/config/my.cfg")).code == 404


async def test_job_endpoints(server: ResotoServer, core: ResotoRx) -> None:
    job = {"id": "hello", "command": "echo hi", "trigger": {"message_type": "never_sent"}}
    created = await fetch(server.url + "/jobs", "POST", orjson.dumps(job))
    assert created.code == 201 and body_json(created)["command"] == "echo hi"
    assert (await fetch(server.url + "/jobs", "POST", orjson.dumps(job))).code == 409
    assert [j["id"] for j in body_json(await fetch(server.url + "/jobs"))] == ["hello"]
    assert body_json(await fetch(server.url + "/job/hello/deactivate", "POST"))["active"] is False
    assert body_json(await fetch(server.url + "/job/hello/activate", "POST"))["active"] is True
    run = await fetch(server.url + "/job/hello/run", "POST")
    assert run.code == 202
    task = next(t for t in [*core.runner.running(), *core.runner.finished] if t.id == body_json(run)["task_id"])
    assert (await asyncio.wait_for(core.runner.wait(task), WAIT)).status.value == "done"
    changed = await fetch(server.url + "/job/hello", "PUT", orjson.dumps({"command": "echo bye"}))
    assert body_json(changed)["command"] == "echo bye"
    manual = {"id": "manual", "command": "echo hi"}  # no trigger: nothing to activate
    assert (await fetch(server.url + "/jobs", "POST", orjson.dumps(manual))).code == 201
    refused = await fetch(server.url + "/job/manual/activate", "POST")
    assert refused.code == 400 and "manual" in body_json(refused)["error"]
    bad = await fetch(server.url + "/jobs", "POST", b'{"id": "x", "command": "a", "colour": "red"}')
    assert bad.code == 400 and "unknown keys ['colour']" in body_json(bad)["error"]
    assert (await fetch(server.url + "/job/hello", "DELETE")).code == 204
    assert (await fetch(server.url + "/job/hello")).code == 404


async def test_every_route_and_method_is_in_the_openapi_document(server: ResotoServer) -> None:
    served = body_json(await fetch(server.url + "/openapi"))
    assert served == orjson.loads(openapi_document())
    paths = served["paths"]
    for path, handler in ROUTES:
        assert path in paths, f"{path} missing from openapi.json"
        methods = ["get"] if path in WEBSOCKET_ROUTES else route_methods(handler)
        assert methods, path
        assert sorted(paths[path]) == sorted(methods), path
    assert sorted(paths) == sorted(path for path, _ in ROUTES)


def test_route_methods_sees_only_implemented_verbs() -> None:
    class Only(RequestHandler):
        def get(self) -> None: ...

    assert route_methods(Only) == ["get"]
