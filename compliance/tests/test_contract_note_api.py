"""The contract notes API: a client sees its own notes only (another's is a 404), compliance
staff and auditors see all, files come back byte for byte and are checked against their
sha256 first, every download is audited, and a signed API key sees its account's notes."""

import hashlib
import logging
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from requests_http_signature import HTTPSignatureAuth, algorithms

from compliance.models import FIRM_CHAIN, AuditEvent
from conftest import problem
from ops.apikeys import api_key_create
from orders.models import TradingAccount
from tradingsite_client import COVERED

pytestmark = pytest.mark.django_db


def _read(path: str) -> bytes:
    with storages["compliance"].open(path, "rb") as f:
        return f.read()


@pytest.fixture
def asha(api_client, account):
    """Asha's session: linked to her account TS0001."""
    api_client.force_authenticate(account.users.get(username="asha"))
    return api_client


def _numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def test_a_client_lists_only_its_own_notes(asha, notes):
    mine, _ = notes
    assert _numbers(asha.get("/api/v1/contract-notes")) == [mine.number]


@pytest.mark.parametrize("suffix", ["", "/file.pdf", "/file.json"])
def test_another_clients_note_is_not_found(asha, notes, suffix):
    _, theirs = notes
    body = problem(asha.get(f"/api/v1/contract-notes/{theirs.number}{suffix}"), 404, "not-found")
    assert body["detail"] == f"No contract note {theirs.number} that you may see."
    assert not AuditEvent.objects.filter(action="contract_note.downloaded").exists()


@pytest.mark.parametrize("role", ["Auditor", "Compliance Officer"])
def test_auditors_and_compliance_staff_see_every_note(api_client, notes, user_in_role, role):
    api_client.force_authenticate(user_in_role(role))
    assert sorted(_numbers(api_client.get("/api/v1/contract-notes"))) == sorted(
        n.number for n in notes
    )
    _, theirs = notes
    assert api_client.get(f"/api/v1/contract-notes/{theirs.number}").status_code == 200


def test_the_detail_links_each_file_with_its_sha256(asha, notes):
    mine, _ = notes
    response = asha.get(f"/api/v1/contract-notes/{mine.number}")
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["client"]) == (mine.number, "Asha Rao")
    assert body["trade_date"] == mine.trade_date.isoformat()
    assert body["files"]["pdf"] == {
        "url": f"/api/v1/contract-notes/{mine.number}/file.pdf",
        "sha256": mine.pdf_sha256,
        "content_type": "application/pdf",
    }
    assert set(body["files"]) == {"pdf", "csv", "json"}


@pytest.mark.parametrize("kind", ["pdf", "csv", "json"])
def test_a_download_is_the_stored_file_and_is_audited(asha, notes, kind):
    mine, _ = notes
    response = asha.get(f"/api/v1/contract-notes/{mine.number}/file.{kind}")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content == _read(getattr(mine, f"{kind}_path"))
    assert hashlib.sha256(content).hexdigest() == getattr(mine, f"{kind}_sha256")
    assert response["X-Content-SHA256"] == getattr(mine, f"{kind}_sha256")
    assert f'filename="{mine.number}.{kind}"' in response["Content-Disposition"]
    event = AuditEvent.objects.get(action="contract_note.downloaded")
    assert (event.object_id, event.actor_username, event.chain) == (
        str(mine.pk),
        "asha",
        FIRM_CHAIN,
    )
    assert event.after["file"] == kind


def test_a_file_that_changed_is_a_server_error_naming_it_and_is_logged(asha, notes, caplog):
    mine, _ = notes
    storage = storages["compliance"]
    storage.delete(mine.pdf_path)
    storage.save(mine.pdf_path, ContentFile(b"%PDF-1.4 not the note\n"))
    with caplog.at_level(logging.ERROR, logger="compliance.reports.selectors"):
        response = asha.get(f"/api/v1/contract-notes/{mine.number}/file.pdf")
    body = problem(response, 500, "server-error")
    assert mine.pdf_path in body["detail"]
    assert any(mine.pdf_path in r.getMessage() for r in caplog.records)
    assert not AuditEvent.objects.filter(action="contract_note.downloaded").exists()


def test_an_unknown_file_kind_is_not_found(asha, notes):
    mine, _ = notes
    body = problem(asha.get(f"/api/v1/contract-notes/{mine.number}/file.exe"), 404, "not-found")
    assert "pdf, csv or json" in body["detail"]


def test_the_list_filters_by_trade_date(api_client, notes, user_in_role):
    api_client.force_authenticate(user_in_role("Auditor"))
    day = notes[0].trade_date
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    url = "/api/v1/contract-notes"
    assert len(_numbers(api_client.get(f"{url}?date_from={day}&date_to={day}"))) == 2
    assert _numbers(api_client.get(f"{url}?date_from={after}")) == []
    assert _numbers(api_client.get(f"{url}?date_to={before}")) == []
    bad = problem(api_client.get(f"{url}?date_from=3-12-2026"), 400, "validation-error")
    assert "date_from" in bad["errors"]
    backwards = problem(
        api_client.get(f"{url}?date_from={after}&date_to={before}"), 400, "validation-error"
    )
    assert backwards["errors"]["date_to"] == [f"date_to {before} is before date_from {after}."]


def _signed_get(client, key, path: str):
    api_key, secret = key
    auth = HTTPSignatureAuth(
        signature_algorithm=algorithms.HMAC_SHA256, key=secret.encode(),
        key_id=api_key.key_id, covered_component_ids=COVERED, use_nonce=True,
    )  # fmt: skip
    prepared = auth(requests.Request("GET", f"http://testserver{path}").prepare())
    return client.get(path, headers=dict(prepared.headers))


def test_a_signed_api_key_sees_its_accounts_notes_only(client, notes, user_in_role):
    mine, theirs = notes
    algo = user_in_role("Algo Client", "algo1")
    account = TradingAccount.objects.get(code="TS0001")
    account.users.add(algo)
    TradingAccount.objects.get(code="TS0002").users.add(algo)  # linked, but not the key's
    key = api_key_create(
        actor=None, user=algo, account=account, label="notes box", primary_ip="127.0.0.1"
    )
    assert _numbers(_signed_get(client, key, "/api/v1/contract-notes")) == [mine.number]
    response = _signed_get(client, key, f"/api/v1/contract-notes/{mine.number}/file.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == _read(mine.csv_path)
    problem(_signed_get(client, key, f"/api/v1/contract-notes/{theirs.number}"), 404, "not-found")
