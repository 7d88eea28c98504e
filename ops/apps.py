"""App configuration for ops: keeps roles and default schedules in step after migrate."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _after_migrate(sender, apps=global_apps, using="default", **kwargs) -> None:
    # `flush` (run between transactional tests) sends no `apps`.
    from ops.roles import roles_sync
    from ops.schedules import schedules_install

    roles_sync(apps, using=using)
    schedules_install(apps)


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="ops.after_migrate")
