"""GET /api/v1/tasks/<id>: a background job's state, for those allowed to see it."""

import json

import pytest
from django_celery_results.models import TaskResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_task():
    return TaskResult.objects.create(
        task_id="3f1c-job",
        task_name="marketdata.tasks.warm_cache",
        status="SUCCESS",
        worker="demo@host",
        result=json.dumps({"warmed": 50}),
    )


def test_operations_sees_state_and_result(api_client, user_in_role, finished_task):
    api_client.force_authenticate(user_in_role("Operations"))
    body = api_client.get("/api/v1/tasks/3f1c-job").json()
    assert body["status"] == "SUCCESS"
    assert body["result"] == {"warmed": 50}
    assert body["task_name"] == "marketdata.tasks.warm_cache"
    assert body["worker"] == "demo@host"


def test_trader_is_refused(api_client, user_in_role, finished_task):
    api_client.force_authenticate(user_in_role("Trader"))
    response = api_client.get("/api/v1/tasks/3f1c-job")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "ops.view_task_results" in response.json()["detail"]


def test_anonymous_is_401(api_client, finished_task):
    assert api_client.get("/api/v1/tasks/3f1c-job").status_code == 401


def test_unknown_task_is_404(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Auditor"))
    response = api_client.get("/api/v1/tasks/no-such-task")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
