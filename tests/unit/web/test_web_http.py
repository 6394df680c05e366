"""The error middleware, security headers and websocket origin check over real HTTP.

A small aiohttp app with the web layer's middleware and handlers that raise the
domain's errors, served on a real socket by aiohttp's TestServer.
"""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from ctiserver import errors
from ctiserver.web import validate as v
from ctiserver.web.middleware import error_middleware, security_headers
from ctiserver.web.ws import same_origin


async def body_echo(request: web.Request) -> web.Response:
    v.json_content_type(request.content_type)
    body = v.check_fields(v.parse_json_object(await request.read()), {"state": v.Field(str)})
    return web.json_response({"state": v.choice(body["state"], "state", ("ready",))})


async def page(request: web.Request) -> web.Response:
    return web.Response(text="<p>hi</p>", content_type="text/html")


def raiser(exc: Exception):
    async def handler(request: web.Request) -> web.Response:
        raise exc
    return handler


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/api/echo", body_echo)
    app.router.add_get("/api/forbidden", raiser(errors.Forbidden("only supervisors may see all agents")))
    app.router.add_get("/api/missing", raiser(errors.NotFound("no agent '42'", field="agent")))
    app.router.add_get("/api/conflict", raiser(errors.Conflict("already signed in", code="already")))
    app.router.add_get("/api/down", raiser(errors.Unavailable("Asterisk is not reachable", code="ami_down")))
    app.router.add_get("/api/who", raiser(errors.Unauthenticated("sign in first")))
    app.router.add_get("/api/bug", raiser(RuntimeError("secret internals")))
    app.router.add_get("/page", page)
    app.on_response_prepare.append(security_headers)
    async with TestClient(TestServer(app)) as c:
        yield c


async def error_of(resp) -> dict:
    assert resp.content_type == "application/json"
    return (await resp.json())["error"]


async def test_domain_errors_map_to_statuses_with_the_one_json_shape(client: TestClient) -> None:
    expected = {"/api/forbidden": (403, "forbidden"), "/api/missing": (404, "not_found"),
                "/api/conflict": (409, "already"), "/api/down": (503, "ami_down"),
                "/api/who": (401, "unauthenticated")}
    for path, (status, code) in expected.items():
        resp = await client.get(path)
        assert resp.status == status, path
        assert (await error_of(resp))["code"] == code
    err = await error_of(await client.get("/api/missing"))
    assert err == {"code": "not_found", "message": "no agent '42'", "field": "agent"}


async def test_an_unexpected_exception_is_a_500_that_leaks_nothing(client: TestClient) -> None:
    resp = await client.get("/api/bug")
    assert resp.status == 500
    err = await error_of(resp)
    assert err["code"] == "internal_error" and "secret" not in err["message"]


async def test_bad_bodies_are_400s_naming_the_field(client: TestClient) -> None:
    resp = await client.post("/api/echo", json={"state": "sleeping"})
    assert resp.status == 400
    assert (await error_of(resp))["field"] == "state"
    resp = await client.post("/api/echo", json={"state": "ready", "extra": 1})
    assert (await error_of(resp))["field"] == "extra"
    resp = await client.post("/api/echo", data=b"{oops", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await error_of(resp))["code"] == "malformed_json"
    resp = await client.post("/api/echo", json={"state": "ready"})
    assert resp.status == 200 and await resp.json() == {"state": "ready"}


async def test_a_form_post_is_refused_as_415(client: TestClient) -> None:
    resp = await client.post("/api/echo", data={"state": "ready"})  # what a cross-site form sends
    assert resp.status == 415
    err = await error_of(resp)
    assert err["field"] == "Content-Type" and "application/json" in err["message"]


async def test_unknown_api_paths_and_methods_answer_json(client: TestClient) -> None:
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404 and (await error_of(resp))["code"] == "not_found"
    resp = await client.get("/api/echo")
    assert resp.status == 405 and (await error_of(resp))["code"] == "method_not_allowed"


async def test_pages_cannot_be_framed_and_api_answers_are_not_cached(client: TestClient) -> None:
    page = await client.get("/page")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    api = await client.get("/api/missing")
    assert api.headers["Cache-Control"] == "no-store"


def test_a_websocket_from_another_origin_is_refused() -> None:
    def request(origin: str | None) -> web.Request:
        headers = {"Host": "cti.example:8080"}
        if origin is not None:
            headers["Origin"] = origin
        return make_mocked_request("GET", "/ws", headers=headers)

    assert same_origin(request("http://cti.example:8080"))
    assert not same_origin(request("http://evil.example"))
    assert not same_origin(request("http://cti.example:9999"))
    assert same_origin(request(None))  # not a browser; the session cookie still applies
