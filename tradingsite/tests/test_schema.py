"""The OpenAPI schema says what each operation answers: every status it sends, and for each
error status the problem types behind it (asserted on the generated schema itself)."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tradingsite.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from tradingsite.schema import problems

#: What every operation may answer, whatever it does: bad Host or too many fields (400),
#: credentials (401), role, allowlist or second factor (403), Accept (406), rate (429), bugs.
EVERYWHERE = {"400", "401", "403", "406", "429", "500"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method]


def problem_types(response: dict) -> set[str]:
    """The slugs of the problem types a documented error response may carry."""
    body = response["content"][PROBLEM_CONTENT_TYPE]["schema"]
    ref, narrowed = body["allOf"]
    assert ref == {"$ref": "#/components/schemas/Problem"}
    return {uri.rsplit("/", 1)[-1] for uri in narrowed["properties"]["type"]["enum"]}


@pytest.mark.parametrize(
    ("method", "path", "statuses", "types"),
    [
        # Issue 10: each of these answered a status its schema did not list.
        ("get", "/api/v1/orders", {"200"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/accounts", {"200"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/trades", {"200"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/instruments", {"200"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/risk/limits", {"200"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/risk/limit-changes", {"200"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/accounts/{code}/ledger", {"200", "404"}, {"400": {"validation-error"}}),
        ("get", "/api/v1/audit-events", {"200"}, {"400": {"validation-error"}}),
        ("delete", "/api/v1/orders/{id}", {"200", "404", "409", "503"}, {"409": {"order-not-working"}, "503": {"account-busy"}}),
        ("patch", "/api/v1/orders/{id}", {"200", "404", "409", "415", "422", "503"}, {"409": {"order-not-working"}, "422": {"order-rejected"}, "503": {"account-busy"}}),
        (
            "post", "/api/v1/orders", {"200", "201", "404", "415", "422", "503"},
            {
                "404": {"not-found"},
                "503": {"account-busy"},
                "422": {"order-rejected", "idempotency-mismatch"},
                "403": {"permission-denied"},
            },
        ),
        ("post", "/api/v1/risk/what-if", {"200", "404", "415"}, {"404": {"not-found"}}),
        ("post", "/api/v1/api-keys", {"201", "404", "415", "422"}, {"422": {"unprocessable"}}),
        ("post", "/api/v1/api-keys/{key_id}/revoke", {"200", "404", "422"}, {"422": {"unprocessable"}}),
        ("post", "/api/v1/api-keys/{key_id}/rotate", {"201", "404", "422"}, {"422": {"unprocessable"}}),
        ("put", "/api/v1/api-keys/{key_id}/ips", {"200", "404", "415", "422"}, {"422": {"unprocessable"}}),
        ("post", "/api/v1/risk/limit-changes", {"201", "404", "415"}, {"404": {"not-found"}}),
        ("post", "/api/v1/risk/limit-changes/{id}/approve", {"200", "404", "409"}, {"409": {"conflict"}}),
        ("post", "/api/v1/risk/limit-changes/{id}/reject", {"200", "404", "409"}, {"409": {"conflict"}}),
        ("post", "/api/v1/risk/kill-switches", {"201", "404", "415"}, {"404": {"not-found"}}),
        ("post", "/api/v1/risk/kill-switches/{id}/reset", {"200", "404", "409"}, {"409": {"conflict"}}),
    ],
)  # fmt: skip
def test_each_operation_lists_every_status_it_sends(schema, method, path, statuses, types):
    responses = operation(schema, method, path)["responses"]
    assert set(responses) == statuses | EVERYWHERE
    for status, expected in types.items():
        assert problem_types(responses[status]) >= expected, (status, responses[status])


def test_cancel_answers_the_order_not_an_empty_204(schema):
    responses = operation(schema, "delete", "/api/v1/orders/{id}")["responses"]
    assert "204" not in responses
    body = responses["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/OrderOutput"}


def test_a_list_answers_a_bad_page_with_400_not_404(schema):
    for path, operations in schema["paths"].items():
        get = operations.get("get", {})
        if any(p["name"] in {"page", "cursor"} for p in get.get("parameters", [])):
            assert "validation-error" in problem_types(get["responses"]["400"]), path
            if "{" not in path:
                assert "404" not in get["responses"], path


def test_tripping_a_kill_switch_answers_a_typed_body(schema):
    created = operation(schema, "post", "/api/v1/risk/kill-switches")["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert component["properties"]["kill_switch"] == {"$ref": "#/components/schemas/SwitchOutput"}
    cancelled = component["properties"]["cancelled_orders"]
    assert (cancelled["type"], cancelled["items"]) == ("array", {"type": "integer"})
    assert set(component["required"]) == {"kill_switch", "cancelled_orders"}


def test_every_error_response_is_problem_json_of_types_with_its_status(schema):
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if int(status) < 400:
                    continue
                assert set(response["content"]) == {PROBLEM_CONTENT_TYPE}, (method, path, status)
                slugs = problem_types(response)
                assert slugs, (method, path, status)
                assert {PROBLEM_TYPES[s].status for s in slugs} == {int(status)}, (path, status)
                for slug in slugs:  # the description names each type it may carry
                    assert f"`{slug}`" in response["description"], (method, path, status)


def test_limits_and_credentials_answers_document_their_headers(schema):
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert responses["429"]["headers"]["Retry-After"]["required"] is True, (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
            assert "locked-out" in problem_types(responses["429"])
            assert {"not-authenticated", "authentication-failed", "session-expired"} <= (
                problem_types(responses["401"])
            )


def test_a_path_parameter_alone_is_no_validation_error(schema):
    responses = operation(schema, "get", "/api/v1/orders/{id}")["responses"]
    assert problem_types(responses["400"]) == {"bad-request"}
    assert problem_types(responses["404"]) == {"not-found"}


def test_a_view_cannot_document_a_problem_type_that_does_not_exist():
    with pytest.raises(ValueError, match="order-lost"):
        problems("conflict", "order-lost")
