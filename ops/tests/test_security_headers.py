"""Every header of ops.security_headers.SECURITY_HEADERS, on a real HTML page and real API answers,
and the docs table generated from the same list."""

from pathlib import Path

import pytest
from django.core.management import call_command

from ops.security_headers import (
    API,
    EVERY_RESPONSE,
    HTTPS,
    SECURITY_HEADERS,
    SIGN_OUT,
    security_headers_markdown,
)

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "security-headers.md"


@pytest.fixture
def production_hsts(settings):
    settings.SECURE_HSTS_SECONDS = 63072000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


@pytest.fixture
def answers(client, production_hsts, user_in_role) -> dict[str, object]:
    """An HTML page, an API answer and an API problem, all over HTTPS."""
    html = client.get("/admin/login/", secure=True)
    problem = client.get("/api/v1/me", secure=True)
    client.force_login(user_in_role("Trader"))
    api = client.get("/api/v1/me", secure=True)
    assert (html.status_code, api.status_code, problem.status_code) == (200, 200, 401)
    assert html["Content-Type"].startswith("text/html")
    assert api["Content-Type"] == "application/json"
    return {"html": html, "api": api, "problem": problem}


def normal(name: str, value: str) -> object:
    # django-csp does not keep the directives in a fixed order.
    return sorted(value.split("; ")) if name == "Content-Security-Policy" else value


def expect(response, header) -> None:
    assert header.name in response.headers, f"{header.name} missing"
    if header.value is None:
        assert response[header.name].strip()
    else:
        sent = normal(header.name, response[header.name])
        assert sent == normal(header.name, header.value), header.name


@pytest.mark.parametrize("header", SECURITY_HEADERS, ids=lambda h: h.name)
def test_each_header_is_sent_where_the_list_says(header, answers, client):
    if header.where in {EVERY_RESPONSE, HTTPS}:
        for response in answers.values():
            expect(response, header)
    elif header.where == API:
        expect(answers["api"], header)
        expect(answers["problem"], header)
        assert answers["html"].get(header.name) != header.value
    else:
        assert header.where == SIGN_OUT
        assert header.name not in answers["html"].headers
        assert header.name not in answers["api"].headers
        expect(client.post("/admin/logout/", secure=True), header)


def test_there_are_at_least_fourteen_and_each_is_listed_once():
    names = [h.name.lower() for h in SECURITY_HEADERS]
    assert len(names) == len(set(names)) >= 14


def test_hsts_is_only_sent_over_https(client, production_hsts):
    assert "Strict-Transport-Security" not in client.get("/admin/login/").headers


def test_public_api_pages_are_not_cacheable_either(client):
    # /api/problems/ is public and plain Django: nothing else sets its caching headers.
    response = client.get("/api/problems/")
    assert (response["Cache-Control"], response["Pragma"]) == ("no-store", "no-cache")


def test_the_docs_table_is_generated_from_the_list(capsys):
    assert security_headers_markdown() in DOCS.read_text(), (
        "run: python manage.py security_headers_table and paste it into docs/security-headers.md"
    )
    call_command("security_headers_table")
    assert capsys.readouterr().out == security_headers_markdown()
    for header in SECURITY_HEADERS:
        assert f"| `{header.name}` |" in DOCS.read_text()
