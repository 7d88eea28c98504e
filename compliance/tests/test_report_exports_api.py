"""The reports API's contract: the kinds a user may run, 202 and a Location for a
request, problem+json 400 naming the field (and nothing made) for refused filters, 403 for
a kind the user may not run, 404 for another client's export, the file streamed once its
sha256 matches (409 file-altered when it does not), and signed API keys working."""

import pytest
import requests
from django.contrib.auth.models import Group
from requests_http_signature import HTTPSignatureAuth, algorithms

from compliance.models import AuditEvent
from compliance.models import Client as KycClient
from compliance.reports.models import ReportExport
from conftest import problem
from ops.apikeys import api_key_create
from ops.models import JobRun
from orders.models import TradingAccount
from tradingsite_client import COVERED

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_registers")]
EXPORTS = "/api/v1/report-exports"


@pytest.fixture
def officer_api(api_client, reports_officer):
    api_client.force_authenticate(reports_officer)
    return api_client


@pytest.fixture
def client_user(account):
    asha = account.users.get()
    asha.groups.add(Group.objects.get(name="Client"))
    return asha


@pytest.fixture
def client_api(client_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(client_user)
    return api


def run(api, body: dict, capture) -> dict:
    with capture(execute=True):
        answer = api.post(EXPORTS, body, format="json")
    assert answer.status_code == 202, answer.content
    return answer


def test_the_kinds_listed_are_those_the_user_may_run(officer_api, client_api):
    staff = {k["kind"]: k for k in officer_api.get("/api/v1/reports").json()}
    assert {"test_audit", "test_statement", "test_broken"} <= set(staff)
    assert staff["test_audit"]["filters"] == ["actor", "date_from", "date_to"]
    assert staff["test_audit"]["formats"] == ["csv", "xlsx", "pdf"]
    mine = [k["kind"] for k in client_api.get("/api/v1/reports").json()]
    assert "test_statement" in mine
    assert "test_audit" not in mine
    assert "test_broken" not in mine


def test_a_request_is_accepted_run_and_its_file_streamed(
    officer_api, django_capture_on_commit_callbacks
):
    answer = run(
        officer_api, {"kind": "test_audit", "format": "csv"}, django_capture_on_commit_callbacks
    )
    body = answer.json()
    assert answer["Location"] == f"{EXPORTS}/{body['id']}"
    assert (body["status"], body["requested_by"], body["file_url"]) == ("queued", "meera_co", None)
    detail = officer_api.get(answer["Location"]).json()
    assert detail["status"] == "succeeded"
    assert detail["progress"]["status"] == "succeeded"
    assert detail["progress"]["done"] == detail["row_count"]
    assert detail["progress"]["total"] == detail["row_count"]  # counted up front
    assert detail["progress"]["percent"] == 100.0
    assert detail["file_url"] == f"{EXPORTS}/{body['id']}/file"
    file = officer_api.get(detail["file_url"])
    assert file.status_code == 200
    content = b"".join(file.streaming_content)
    assert len(content) == detail["size"]
    assert file["Content-Type"] == "text/csv"
    assert f'filename="test_audit-{body["id"]}.csv"' in file["Content-Disposition"]
    assert AuditEvent.objects.filter(action="report.export_downloaded").count() == 1
    listed = officer_api.get(EXPORTS).json()
    assert [e["id"] for e in listed["results"]] == [body["id"]]
    assert listed["results"][0]["progress"]["done"] == detail["row_count"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "test_audit", "format": "csv", "date_from": "2026-11-02",
          "date_to": "2026-11-01"}, "date_to"),
        ({"kind": "test_audit", "format": "csv", "date_from": "2020-01-01",
          "date_to": "2026-01-01"}, "date_to"),
        ({"kind": "test_statement", "format": "csv", "account": 424242}, "account"),
        ({"kind": "no_such_report", "format": "csv"}, "kind"),
        ({"kind": "test_audit", "format": "docx"}, "format"),
        ({"kind": "test_audit"}, "format"),
        ({"kind": "test_audit", "format": "csv", "colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_refused_filters_answer_400_naming_the_field_and_make_nothing(officer_api, body, field):
    answer = officer_api.post(EXPORTS, body, format="json")
    refused = problem(answer, 400, "validation-error")
    assert field in refused["errors"]
    assert ReportExport.objects.count() == 0
    assert JobRun.objects.count() == 0


def test_a_client_may_not_export_a_staff_register(client_api):
    refused = problem(
        client_api.post(EXPORTS, {"kind": "test_audit", "format": "csv"}, format="json"),
        403,
        "permission-denied",
    )
    assert "compliance staff only" in refused["detail"]
    assert ReportExport.objects.count() == 0


def test_a_client_sees_only_their_own_exports(
    client_api, officer_api, django_user_model, django_capture_on_commit_callbacks
):
    mine = run(
        client_api, {"kind": "test_statement", "format": "csv"}, django_capture_on_commit_callbacks
    ).json()
    staff = run(
        officer_api, {"kind": "test_audit", "format": "csv"}, django_capture_on_commit_callbacks
    ).json()
    assert [e["id"] for e in client_api.get(EXPORTS).json()["results"]] == [mine["id"]]
    assert {e["id"] for e in officer_api.get(EXPORTS).json()["results"]} == {
        mine["id"],
        staff["id"],
    }
    problem(client_api.get(f"{EXPORTS}/{staff['id']}"), 404, "not-found")
    problem(client_api.get(f"{EXPORTS}/{staff['id']}/file"), 404, "not-found")
    # Another client, too, finds nothing of asha's.
    ravi = django_user_model.objects.create_user("ravi_client")
    ravi.groups.add(Group.objects.get(name="Client"))
    TradingAccount.objects.create(
        code="TS0002", client=KycClient.objects.create(name="Ravi Iyer", pan="ABCPI1234L")
    ).users.add(ravi)
    client_api.force_authenticate(ravi)
    refused = problem(client_api.get(f"{EXPORTS}/{mine['id']}/file"), 404, "not-found")
    assert refused["detail"] == f"No report export {mine['id']} that you may see."
    assert client_api.get(EXPORTS).json()["results"] == []


def test_an_altered_file_is_refused_naming_it(
    officer_api, compliance_files_dir, django_capture_on_commit_callbacks
):
    made = run(
        officer_api, {"kind": "test_audit", "format": "csv"}, django_capture_on_commit_callbacks
    ).json()
    export = ReportExport.objects.get(pk=made["id"])
    (compliance_files_dir / export.path).write_bytes(b"forged")
    refused = problem(officer_api.get(f"{EXPORTS}/{export.pk}/file"), 409, "file-altered")
    assert refused["path"] == export.path
    assert export.path in refused["detail"]


def test_a_signed_api_key_lists_kinds_and_downloads(
    client, client_user, account, django_capture_on_commit_callbacks
):
    key, secret = api_key_create(
        actor=None, user=client_user, account=account, label="statements", primary_ip="127.0.0.1"
    )

    def signed_get(path: str):
        auth = HTTPSignatureAuth(
            signature_algorithm=algorithms.HMAC_SHA256, key=secret.encode(),
            key_id=key.key_id, covered_component_ids=COVERED, use_nonce=True,
        )  # fmt: skip
        prepared = auth(requests.Request("GET", f"http://testserver{path}").prepare())
        return client.get(path, headers=dict(prepared.headers))

    from rest_framework.test import APIClient

    web = APIClient()
    web.force_authenticate(client_user)
    made = run(
        web, {"kind": "test_statement", "format": "csv"}, django_capture_on_commit_callbacks
    ).json()
    kinds = signed_get("/api/v1/reports")
    assert kinds.status_code == 200, kinds.content
    assert "test_statement" in [k["kind"] for k in kinds.json()]
    file = signed_get(f"{EXPORTS}/{made['id']}/file")
    assert file.status_code == 200, file.content
    assert b"".join(file.streaming_content).startswith(b"id,kind,amount")


def test_the_api_root_links_the_reports(officer_api):
    links = officer_api.get("/api/v1/").json()["links"]
    assert links["reports"] == "http://testserver/api/v1/reports"
    assert links["report_exports"] == f"http://testserver{EXPORTS}"
