"""REST-layer behaviour: cluster info, query parameters, routing errors, auth, cluster settings."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from ._helpers import error_of

WWW_AUTHENTICATE = ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', "ApiKey"]


@pytest.mark.parametrize("version", ["8.17.0", "9.1.0", "9.4.0"], ids=["8.17", "9.1", "9.4"])
def test_the_root_reports_the_configured_version(make_es: Any, version: str) -> None:
    response = make_es(version=version).get("/")
    body = response.json()
    assert body["version"]["number"] == version
    assert body["version"]["build_flavor"] == "default"
    assert body["tagline"] == "You Know, for Search"
    assert {"name", "cluster_name", "cluster_uuid"} <= set(body)
    assert response.headers["X-elastic-product"] == "Elasticsearch"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/_inference?foo=1", "request [/_inference] contains unrecognized parameter: [foo]"),
        ("/_inference?b=1&a=2", "request [/_inference] contains unrecognized parameters: [a], [b]"),
        (
            "/_inference?prety=true",
            "request [/_inference] contains unrecognized parameter: [prety] -> did you mean [pretty]?",
        ),
        (
            "/_inference/e?dryrun=true",
            "request [/_inference/e] contains unrecognized parameter: [dryrun] -> did you mean [dry_run]?",
        ),
    ],
    ids=[
        "one unknown parameter",
        "several, sorted",
        "a typo of a global parameter",
        "a typo of dry_run",
    ],
)
def test_unknown_query_parameters_are_rejected(es: httpx.Client, path: str, reason: str) -> None:
    method = "DELETE" if "dryrun" in path else "GET"
    assert error_of(es.request(method, path)) == (400, "illegal_argument_exception", reason)


def test_global_parameters_are_accepted_and_pretty_indents(es: httpx.Client) -> None:
    response = es.get("/_inference?pretty&human=true&error_trace=false&filter_path=x")
    assert response.status_code == 200
    assert response.text == '{\n  "endpoints" : []\n}'


def test_a_wrong_method_gets_405_with_the_allowed_methods(es: httpx.Client) -> None:
    response = es.post("/_cluster/settings")
    assert response.status_code == 405
    assert response.json() == {
        "error": "Incorrect HTTP method for uri [/_cluster/settings] and method [POST], allowed: [GET, PUT]",
        "status": 405,
    }
    assert response.headers["Allow"] == "GET,PUT"


def test_an_unknown_path_has_no_handler(es: httpx.Client) -> None:
    response = es.get("/_inference/a/b/c/d?x=1")
    assert response.json() == {
        "error": "no handler found for uri [/_inference/a/b/c/d?x=1] and method [GET]",
        "status": 400,
    }


def test_a_non_json_content_type_is_not_acceptable(es: httpx.Client) -> None:
    response = es.put(
        "/_inference/text_embedding/e", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.json() == {
        "error": "Content-Type header [text/plain] is not supported",
        "status": 406,
    }


def test_a_compatible_with_accept_header_is_echoed_as_the_content_type(es: httpx.Client) -> None:
    media = "application/vnd.elasticsearch+json;compatible-with=8"
    response = es.get("/_inference", headers={"Accept": media})
    assert response.headers["Content-Type"] == media


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("options", "header", "allowed"),
    [
        ({"api_key": "k1"}, "ApiKey k1", True),
        ({"api_key": "k1"}, "ApiKey k2", False),
        ({"username": "elastic", "password": "pw"}, basic("elastic", "pw"), True),
        ({"username": "elastic", "password": "pw"}, basic("elastic", "nope"), False),
        ({"bearer_token": "t"}, "Bearer t", True),
        ({"bearer_token": "t"}, "ApiKey t", False),
    ],
    ids=[
        "the right api key",
        "a wrong api key",
        "the right basic credentials",
        "a wrong password",
        "the right bearer token",
        "a bearer token sent as an api key",
    ],
)
def test_configured_credentials_are_required(
    make_es: Any, options: dict[str, str], header: str, allowed: bool
) -> None:
    es = make_es(**options)
    response = es.get("/_inference", headers={"Authorization": header})
    assert (response.status_code == 200) is allowed
    if not allowed:
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "security_exception"


def test_a_request_without_credentials_gets_the_security_exception(make_es: Any) -> None:
    response = make_es(api_key="k1").get("/_inference")
    reason = "missing authentication credentials for REST request [/_inference]"
    assert response.status_code == 401
    assert response.headers.get_list("WWW-Authenticate") == WWW_AUTHENTICATE
    assert response.json() == {
        "error": {
            "root_cause": [
                {
                    "type": "security_exception",
                    "reason": reason,
                    "header": {"WWW-Authenticate": WWW_AUTHENTICATE},
                }
            ],
            "type": "security_exception",
            "reason": reason,
            "header": {"WWW-Authenticate": WWW_AUTHENTICATE},
        },
        "status": 401,
    }


def test_wrong_basic_credentials_name_the_user(make_es: Any) -> None:
    es = make_es(username="elastic", password="pw")
    response = es.get("/", headers={"Authorization": basic("bob", "x")})
    assert error_of(response)[2] == "unable to authenticate user [bob] for REST request [/]"


def test_the_admin_api_needs_no_credentials(make_es: Any) -> None:
    assert make_es(api_key="k1").get("/_emulator/requests").status_code == 200


def test_cluster_settings_round_trip_nested_and_flat(es: httpx.Client) -> None:
    put = es.put(
        "/_cluster/settings",
        json={"persistent": {"xpack": {"inference": {"skip_validate_and_start": True}}}},
    )
    nested = {"xpack": {"inference": {"skip_validate_and_start": "true"}}}
    assert put.json() == {"acknowledged": True, "persistent": nested, "transient": {}}
    assert es.get("/_cluster/settings").json() == {"persistent": nested, "transient": {}}
    flat = es.get("/_cluster/settings?flat_settings=true").json()
    assert flat == {
        "persistent": {"xpack.inference.skip_validate_and_start": "true"},
        "transient": {},
    }
    es.put(
        "/_cluster/settings", json={"persistent": {"xpack.inference.skip_validate_and_start": None}}
    )
    assert es.get("/_cluster/settings").json() == {"persistent": {}, "transient": {}}


@pytest.mark.parametrize(
    ("body", "error_type", "reason"),
    [
        (
            {"persistent": {"foo.bar": 1}},
            "illegal_argument_exception",
            "persistent setting [foo.bar], not recognized",
        ),
        (
            {"transient": {"xpack.inference.skip_validate_and_start": "yes"}},
            "illegal_argument_exception",
            "Failed to parse value [yes] as only [true] or [false] are allowed.",
        ),
        ({}, "action_request_validation_exception", "Validation Failed: 1: no settings to update;"),
    ],
    ids=["an unknown setting", "a non-boolean value", "nothing to update"],
)
def test_bad_cluster_settings_are_rejected(
    es: httpx.Client, body: dict[str, Any], error_type: str, reason: str
) -> None:
    assert error_of(es.put("/_cluster/settings", json=body)) == (400, error_type, reason)
