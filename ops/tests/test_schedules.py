"""Default beat schedules are installed once and admin edits survive."""

import pytest
from django_celery_beat.models import PeriodicTask

from ops.schedules import DEFAULT_SCHEDULES, schedules_install

pytestmark = pytest.mark.django_db


def test_defaults_are_installed_by_migrate():
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {s.name for s in DEFAULT_SCHEDULES} <= names
    heartbeat = PeriodicTask.objects.get(task="ops.tasks.heartbeat")
    assert heartbeat.interval.every == 60
    cleanup = PeriodicTask.objects.get(task="celery.backend_cleanup")
    assert (cleanup.crontab.hour, str(cleanup.crontab.timezone)) == ("4", "Asia/Kolkata")


def test_admin_edits_survive_a_reinstall():
    PeriodicTask.objects.filter(task="ops.tasks.heartbeat").update(enabled=False)
    assert schedules_install() == []
    assert PeriodicTask.objects.get(task="ops.tasks.heartbeat").enabled is False


def test_a_deleted_default_comes_back():
    PeriodicTask.objects.filter(task="ops.tasks.heartbeat").delete()
    assert schedules_install() == ["Worker heartbeat"]
