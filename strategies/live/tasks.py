"""The deployment's step as a Celery task, on the execution queue (it places orders)."""

from datetime import datetime

from celery import shared_task


@shared_task(name="strategies.deployment_step", acks_late=True)
def deployment_step_task(deployment_id: int, through: str) -> str:
    """Step one deployment at the bar closed at ``through`` (ISO); safe to run twice."""
    from strategies.live.services import deployment_step

    decision = deployment_step(deployment_id, through=datetime.fromisoformat(through))
    return decision.outcome if decision is not None else "nothing to decide"
