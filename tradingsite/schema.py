"""How the OpenAPI schema documents errors: every status an operation answers, with the
problem types (tradingsite.errors.PROBLEM_TYPES) that each error status may carry.

Two sources, merged per status:

- a view names what its own code raises, next to its success responses::

      @extend_schema(responses={200: OrderOutput, **problems("order-not-working")})

- :func:`add_problem_responses`, a postprocessing hook, adds what the layers every
  request passes through can answer: authentication, permissions and the allowlist, the
  rate limits, content negotiation, parsing and validation of a body or of parameters,
  a path that names nothing, and a server error.

Each error response is ``application/problem+json``: the ``Problem`` component narrowed to
its types (``type`` is an enum of their URIs), with a description naming each of them.

Three extensions make request bodies say what validation accepts, so that a client (or a
fuzzer) reading the schema can send what passes: a decimal sent as a string needs a digit
(and no sign when it may not be negative), a text field that may not be blank says so
with ``minLength: 1``, and a body that refuses unknown fields says
``additionalProperties: false``.
"""

from collections import defaultdict
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse

from tradingsite.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "nullable": True},
        "request_id": {"type": "string", "nullable": True},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}

#: Extension members (RFC 9457 section 3.2) that some problem types add.
EXTENSION_MEMBERS: dict[str, dict[str, dict]] = {
    "order-rejected": {
        "order_id": {"type": "integer", "description": "The order, recorded as REJECTED"},
        "rejections": {
            "type": "array",
            "description": "Every reason, with the limit it broke",
            "items": {"type": "object", "additionalProperties": True},
        },
    },
    "idempotency-mismatch": {
        "order_id": {"type": "integer", "description": "The order first placed with this key"},
    },
}

#: Headers that answers of some statuses carry.
HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "How to authenticate: sign the request (RFC 9421)",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "required": True,
            "schema": {"type": "integer"},
        }
    },
}

AUTHENTICATION = [
    "not-authenticated",
    "authentication-failed",
    "api-key-invalid",
    "signature-invalid",
    "signature-expired",
    "replay",
    "session-expired",
]
#: What any operation may answer, before its view runs or whatever it does.
EVERY_OPERATION = [
    "bad-request",  # a Host not allowed, too many fields (Django's SuspiciousOperation)
    *AUTHENTICATION,
    "permission-denied",
    "ip-not-allowed",
    "two-factor-required",
    "not-acceptable",
    "rate-limited",
    "locked-out",
    "server-error",
]


def _slug(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def problem_response(slugs: list[str]) -> dict[str, Any]:
    """The response object of one status: its problem types, described and enumerated."""
    described = [f"- `{s}`: {PROBLEM_TYPES[s].description}" for s in slugs]
    narrowed: dict[str, Any] = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [PROBLEM_TYPES[s].uri for s in slugs]},
        },
    }
    for slug in slugs:
        narrowed["properties"].update(EXTENSION_MEMBERS.get(slug, {}))
    titles = "; ".join(dict.fromkeys(PROBLEM_TYPES[s].title for s in slugs))
    return {
        "description": f"{titles}. Problem types:\n\n" + "\n".join(described),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"allOf": [PROBLEM_REF, narrowed]}}},
    }


def _by_status(slugs) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for slug in slugs:
        if slug not in grouped[PROBLEM_TYPES[slug].status]:
            grouped[PROBLEM_TYPES[slug].status].append(slug)
    return grouped


def problems(*slugs: str) -> dict:
    """Error responses of a view's own problem types, for ``extend_schema(responses=...)``."""
    unknown = [s for s in slugs if s not in PROBLEM_TYPES]
    if unknown:
        raise ValueError(f"unknown problem types: {', '.join(unknown)}")
    responses = {}
    for status, group in _by_status(slugs).items():
        built = problem_response(group)
        schema = built["content"][PROBLEM_CONTENT_TYPE]["schema"]
        responses[(status, PROBLEM_CONTENT_TYPE)] = OpenApiResponse(
            response=schema, description=built["description"]
        )
    return responses


def _documented_slugs(response: dict) -> list[str]:
    schema = response.get("content", {}).get(PROBLEM_CONTENT_TYPE, {}).get("schema", {})
    parts = schema.get("allOf", [])
    if len(parts) != 2 or parts[0] != PROBLEM_REF:
        return []
    return [_slug(uri) for uri in parts[1]["properties"]["type"]["enum"]]


def common_problems(path: str, method: str, operation: dict) -> list[str]:
    """The problem types the shared layers may answer for one operation."""
    slugs = list(EVERY_OPERATION)
    if method not in ("get", "head", "options"):
        slugs.append("scope-insufficient")  # a read-only API key
    if operation.get("requestBody"):
        slugs += ["malformed-request", "unsupported-media-type", "validation-error"]
    elif any(p["in"] != "path" for p in operation.get("parameters", [])):
        slugs.append("validation-error")  # a bad query parameter (a path one is a 404)
    if "{" in path:
        slugs.append("not-found")
    return slugs


def add_problem_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: the Problem component, and on each operation
    every error status it may answer, merged with those its view declared."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation["responses"]
            declared = [s for r in responses.values() for s in _documented_slugs(r)]
            every = declared + common_problems(path, method, operation)
            for status, slugs in _by_status(every).items():
                code = str(status)
                responses[code] = {**responses.get(code, {}), **problem_response(slugs)}
                if status in HEADERS:
                    responses[code]["headers"] = HEADERS[status]
            operation["responses"] = dict(sorted(responses.items()))
    return result


# --- Request fields: say what validation accepts -----------------------------------------------


class DecimalStringField(OpenApiSerializerFieldExtension):
    """drf-spectacular's pattern for a decimal string (``^-?\\d{0,10}(?:\\.\\d{0,2})?$``) also
    matches "" and "-", which DRF refuses; this one needs a digit, and a sign only when a
    negative value is allowed."""

    target_class = "rest_framework.fields.DecimalField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if schema.get("type") == "string" and None not in (field.max_digits, field.decimal_places):
            whole = max(field.max_digits - field.decimal_places, 1)
            sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
            fraction = rf"(?:\.\d{{1,{field.decimal_places}}})?" if field.decimal_places else ""
            schema["pattern"] = rf"^{sign}\d{{1,{whole}}}{fraction}$"
        return schema


class NonBlankCharField(OpenApiSerializerFieldExtension):
    """A request field that may not be blank needs at least one character."""

    target_class = "rest_framework.fields.CharField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction == "request" and not field.allow_blank and "minLength" not in schema:
            schema["minLength"] = 1
        return schema


class StrictRequestBody(OpenApiSerializerExtension):
    """orders.api.StrictSerializer refuses fields it does not know (400 on each of them)."""

    target_class = "orders.api.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
