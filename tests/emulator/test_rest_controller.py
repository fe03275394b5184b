"""The REST controller: HEAD, OPTIONS and unknown methods, compatible-with media types, bad JSON."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._helpers import error_of, hf_body

COMPATIBLE = "application/vnd.elasticsearch+json; compatible-with={}"


def test_head_of_a_route_that_registers_it_is_the_get_answer_without_a_body(
    es: httpx.Client,
) -> None:
    got, head = es.get("/"), es.head("/")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    es.put("/docs").raise_for_status()
    assert es.head("/docs").status_code == 200
    assert es.head("/missing").status_code == 404


def test_head_of_a_get_only_route_is_405_without_a_body(es: httpx.Client) -> None:
    response = es.head("/_cluster/settings")
    assert (response.status_code, response.content) == (405, b"")
    assert response.headers["Allow"] == "GET,PUT"


def test_options_answers_the_allowed_methods_with_an_empty_body(es: httpx.Client) -> None:
    response = es.options("/_inference/text_embedding/e")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Allow"] == "GET,POST,PUT,DELETE"
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    unknown = es.options("/no/such/route/at/all")
    assert (unknown.status_code, "Allow" in unknown.headers) == (200, False)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/_cluster/settings",
            {
                "error": "Unexpected http method: BREW, allowed: [GET, PUT]",
                "status": 405,
            },
        ),
        ("/no/such/route/at/all", {"error": "Unexpected http method: BREW", "status": 405}),
    ],
    ids=["on a known path", "on an unknown path"],
)
def test_a_method_http_does_not_know_is_405(es: httpx.Client, path: str, body: Any) -> None:
    response = es.request("BREW", path)
    assert (response.status_code, response.json()) == (405, body)
    assert response.headers.get("Allow") == ("GET,PUT" if "allowed" in body["error"] else None)


def test_patch_of_an_endpoint_is_405_with_its_methods(es: httpx.Client) -> None:
    response = es.patch("/_inference/e")
    assert response.json() == {
        "error": "Incorrect HTTP method for uri [/_inference/e] and method [PATCH],"
        " allowed: [GET, POST, PUT, DELETE]",
        "status": 405,
    }


@pytest.mark.parametrize(
    ("version", "accepted", "refused"),
    [("8.19.0", (7, 8), 9), ("9.1.0", (8, 9), 10)],
    ids=["8.x takes 7 and 8", "9.x takes 8 and 9"],
)
def test_compatible_with_accepts_this_major_and_the_one_before(
    make_es: Any, version: str, accepted: tuple[int, int], refused: int
) -> None:
    es = make_es(version=version, default_endpoints=False)
    for major in accepted:
        media = COMPATIBLE.format(major)
        response = es.put(
            "/_inference/e", content=b"{}", headers={"Accept": media, "Content-Type": media}
        )
        assert response.headers["Content-Type"] == media.replace("; ", ";")
        assert response.json()["error"]["type"] != "media_type_header_exception"
    media = COMPATIBLE.format(refused)
    response = es.get("/", headers={"Accept": media})
    current = int(version[0])
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "root_cause": [
                {
                    "type": "media_type_header_exception",
                    "reason": "Invalid media-type value on headers [Content-Type, Accept]",
                }
            ],
            "type": "media_type_header_exception",
            "reason": "Invalid media-type value on headers [Content-Type, Accept]",
            "caused_by": {
                "type": "status_exception",
                "reason": f"Accept version must be either version {current} or {current - 1},"
                f" but found {refused}. Accept={media}",
            },
        },
        "status": 400,
    }


@pytest.mark.parametrize(
    ("accept", "content_type", "reason"),
    [
        (
            COMPATIBLE.format(9),
            COMPATIBLE.format(8),
            "A compatible version is required on both Content-Type and Accept headers if either"
            " one has requested a compatible version and the compatible versions must match."
            f" Accept={COMPATIBLE.format(9)}, Content-Type={COMPATIBLE.format(8)}",
        ),
        (
            "application/json",
            COMPATIBLE.format(9),
            "A compatible version is required on both Content-Type and Accept headers if either"
            " one has requested a compatible version. Accept=application/json,"
            f" Content-Type={COMPATIBLE.format(9)}",
        ),
        (
            COMPATIBLE.format(9),
            COMPATIBLE.format(7),
            "Content-Type version must be either version 9 or 8, but found 7."
            f" Content-Type={COMPATIBLE.format(7)}",
        ),
    ],
    ids=["versions that differ", "a version on one header only", "a content type too old"],
)
def test_a_body_must_ask_for_the_same_compatible_version(
    es: httpx.Client, accept: str, content_type: str, reason: str
) -> None:
    response = es.put(
        "/_inference/e", content=b"{}", headers={"Accept": accept, "Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["error"]["caused_by"] == {"type": "status_exception", "reason": reason}


def test_a_request_without_a_body_is_judged_by_its_accept_header_alone(es: httpx.Client) -> None:
    response = es.get(
        "/", headers={"Accept": COMPATIBLE.format(8), "Content-Type": "application/json"}
    )
    assert response.status_code == 200


BAD_JSON = b'{"service": hugging_face}'


@pytest.mark.parametrize(
    ("version", "error"),
    [
        (
            "9.1.0",
            {
                "root_cause": [
                    {
                        "type": "json_parse_exception",
                        "reason": "Expecting value: line 1 column 13 (char 12)",
                    }
                ],
                "type": "json_parse_exception",
                "reason": "Expecting value: line 1 column 13 (char 12)",
            },
        ),
        (
            "9.1.2",
            {
                "root_cause": [
                    {"type": "x_content_parse_exception", "reason": "[1:13] Expecting value"}
                ],
                "type": "x_content_parse_exception",
                "reason": "[1:13] Expecting value",
            },
        ),
    ],
    ids=["before elastic/elasticsearch#123439", "from 9.1.2"],
)
def test_a_put_body_that_is_not_json_is_the_parsers_error(
    make_es: Any, version: str, error: dict[str, Any]
) -> None:
    es = make_es(version=version, default_endpoints=False)
    response = es.put(
        "/_inference/text_embedding/e",
        content=BAD_JSON,
        headers={"Content-Type": "application/json"},
    )
    assert response.json() == {"error": error, "status": 400}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("8.19.0", (400, "parse_exception", "Failed to parse content to map")),
        ("8.19.2", (400, "x_content_parse_exception", "[1:13] Expecting value")),
        ("9.0.8", (400, "parse_exception", "Failed to parse content to map")),
        ("9.2.0", (400, "x_content_parse_exception", "[1:13] Expecting value")),
    ],
    ids=["8.19.0", "8.19.2", "9.0 (no backport)", "9.2.0"],
)
def test_an_update_body_that_is_not_json_follows_convert_to_map(
    make_es: Any, version: str, expected: tuple[int, str, str]
) -> None:
    es = make_es(version=version, default_endpoints=False)
    es.put(
        "/_cluster/settings", json={"transient": {"xpack.inference.skip_validate_and_start": True}}
    )
    es.put("/_inference/text_embedding/e", json=hf_body("http://127.0.0.1:9/x")).raise_for_status()
    response = es.put(
        "/_inference/text_embedding/e/_update",
        content=BAD_JSON,
        headers={"Content-Type": "application/json"},
    )
    assert error_of(response) == expected
