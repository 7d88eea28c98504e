"""A Celery app for ``test_worker_killed``: its worker process dies once, between the broker's
answer to a submission and our recording of it, as a kill or a crash could land there.

``celery -A orders.tests.dying_worker worker``; ``DYING_WORKER_MARKER`` names the file it
writes (the order's id) before it dies, so the process that replaces it lives on.
"""

import os
from pathlib import Path

from celery.signals import worker_process_init

from tradingsite.celery import app

__all__ = ["app"]


@worker_process_init.connect
def _die_once_after_the_broker_answers(**kwargs) -> None:
    from orders import execution

    marker = Path(os.environ["DYING_WORKER_MARKER"])
    record = execution.submission_record

    def dying(**arguments):
        if not marker.exists():
            marker.write_text(str(arguments["order_id"]))
            os._exit(1)  # no cleanup, no acknowledgement: the task is redelivered
        return record(**arguments)

    execution.submission_record = dying
