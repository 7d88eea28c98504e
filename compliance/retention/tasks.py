"""The archive run as a Celery task (queue ``maintenance``): ids in, one service call."""

from celery import shared_task


@shared_task(name="compliance.tasks.archive_month")
def archive_month_task(kind: str, month: str, user_id: int, release: bool = False) -> dict:
    """Archive ``month`` of ``kind`` as the user, then release it if asked. Safe to run
    twice: a month archived already is refused, and a released run is not released again."""
    from django.contrib.auth import get_user_model

    from compliance.retention.archive import archive_month
    from compliance.retention.models import ArchiveRun, ArchiveStatus
    from compliance.retention.release import archive_release

    actor = get_user_model().objects.get(pk=user_id)
    run = ArchiveRun.objects.filter(kind=kind, month=f"{month}-01").first()
    if run is None:
        run = archive_month(kind=kind, month=month, actor=actor)
    if release and run.status == ArchiveStatus.ARCHIVED:
        run = archive_release(run=run, actor=actor)
    return {"run": run.pk, "rows": run.rows, "status": run.status}
