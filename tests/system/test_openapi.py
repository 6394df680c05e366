"""The API's OpenAPI document is served, complete, and true: every JSON answer is described, and
generated requests find no 5xx and no answer off the document (schemathesis, property-based,
against the running server holding real data: a call answered, work orders, a marquee line)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from ctiserver.web.openapi import spec_of
from tests.support.accounts import ADMIN, add_admin
from tests.support.calls import answered_call, panels, ready

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# Ending the session under test would only test the sign-in page; the rest all run.
SKIP = {("POST", "/api/logout"), ("POST", "/api/login")}
EXAMPLES = 12


async def _document(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url.rstrip('/')}/api/openapi.json") as r,
    ):
        assert r.status == 200, (
            "the document is public: a tool reads it before signing in"
        )
        return await r.json()


async def test_every_api_route_is_in_the_document_with_its_declaration(stack) -> None:
    doc = await _document(stack.url)
    undeclared, missing = [], []
    for route in stack.app._runner.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if not path.startswith("/api/") or route.method in ("HEAD", "*"):
            continue
        if route.method.lower() not in doc["paths"].get(path, {}):
            missing.append(f"{route.method} {path}")
        if spec_of(route.handler) is None:
            undeclared.append(
                f"{route.method} {path} ({route.handler.__module__}.{route.handler.__name__})"
            )
    assert not missing, f"served but not in the document: {missing}"
    assert not undeclared, (
        f"routes without openapi.operation (body and query not described): {undeclared}"
    )
    loaded = [
        r.ok() for r in schemathesis.openapi.from_dict(doc).get_all_operations()
    ]  # raises if malformed
    assert len(loaded) == sum(len(methods) for methods in doc["paths"].values())


async def test_every_json_answer_of_every_operation_has_a_schema(stack) -> None:
    """A client author learns what comes back: each JSON success answer names its type (and an
    object its properties or what its values are), never ``{}``."""
    doc = await _document(stack.url)
    undescribed = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            for status, response in op["responses"].items():
                if not 200 <= int(status) < 300:
                    continue
                for media, content in response.get("content", {}).items():
                    schema = content.get("schema") or {}
                    if media != "application/json":
                        continue
                    said = "type" in schema and (
                        schema["type"] != "object"
                        or "properties" in schema
                        or "additionalProperties" in schema
                    )
                    if not said:
                        undescribed.append(f"{method.upper()} {path} {status}")
    assert not undescribed, f"JSON answers without a schema: {undescribed}"


async def _with_data(stack) -> dict[str, str]:
    """Something to answer with: agent 1001 answered a customer call, now ended (a work order with
    its events, the agent's figures); 1002 is on a second one; a supervisor's marquee line; an
    admin. Returns real values for the path parameters (``{id}`` a work order of 1001's...)."""
    await add_admin(stack)
    async with panels(stack, "1001", "1002", "1900") as p:
        await ready(p["1001"], "1001")
        call, _ = await answered_call(stack, p["1001"])
        await call.hangup()
        ended = await p["1001"].expect("call_ended", lambda d: d.get("workorder_ref"))
        await ready(p["1002"], "1002")
        _, live = await answered_call(
            stack, p["1002"], agent="1002", number="13900139000"
        )
        status, body = await p["1900"].post(
            "/api/marquee", {"text": "system maintenance at 3pm"}
        )
        assert status == 201, body
    await stack.store.flush()
    return {
        "id": ended["workorder_ref"],
        "linkedid": live,
        "no": "C0001",
        "hotline": "hotline",
        "login": "1001",
    }


def _exercise(
    doc: dict[str, Any], base_url: str, cookie: str, known: dict[str, str]
) -> tuple[list[str], dict[str, int]]:
    """Generated requests to every operation, then each GET whose path takes only ``known``
    values once with them (answers on real data: the work order, the live call...). Returns
    the failures and the status each of those GETs answered."""
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    reached: dict[str, int] = {}
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            # The session goes with every request: the document declares the cookie as a security
            # scheme, and a value schemathesis made up would only ever meet 401.
            response = case.call(
                base_url=base_url,
                session=session,
                timeout=10,
                cookies={"cti_session": cookie},
            )
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - every operation's failure is reported, not only the first
            failures.append(
                f"{operation.method.upper()} {operation.path}: {exc}"[:2000]
            )

        names = [
            p["name"]
            for p in operation.definition.raw.get("parameters", [])
            if p["in"] == "path"
        ]
        if operation.method.upper() == "GET" and names and set(names) <= set(known):
            case = operation.Case(path_parameters={n: known[n] for n in names})
            response = case.call(
                base_url=base_url,
                session=session,
                timeout=10,
                cookies={"cti_session": cookie},
            )
            reached[operation.path] = response.status_code
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # noqa: BLE001
                failures.append(f"GET {operation.path} with real values: {exc}"[:2000])
    return failures, reached


async def test_generated_requests_get_no_server_error_and_answers_match_the_document(
    stack,
) -> None:
    known = await _with_data(stack)
    doc = await _document(stack.url)
    failures, reached = [], {}
    # A supervisor reaches the most routes; an agent the panel's own (its work orders, its
    # figures); an admin the administration.
    for login in ("1900", "1001", ADMIN):
        client = stack.client()
        await client.login(login)
        cookie = next(c.value for c in client.http.cookie_jar if c.key == "cti_session")
        found, reached[login] = await asyncio.to_thread(
            _exercise, doc, stack.url.rstrip("/"), cookie, known
        )
        failures += [f"as {login}: {f}" for f in found]
        await client.close()
    assert not failures, "\n\n".join(failures)
    # The real values reached real answers, not only refusals.
    assert reached["1900"]["/api/workorders/{id}"] == 200, reached
    assert reached["1900"]["/api/customers/{no}/history"] == 200, reached
    assert reached["1001"]["/api/workorders/{id}/history"] == 200, reached
    assert reached[ADMIN]["/api/admin/people/{login}"] == 200, reached
