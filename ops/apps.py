"""App configuration for ops: keeps roles, default schedules and the runtime database role's
grants in step after migrate, and connects the sign-in receivers (daily-logout stamp, API
lockout flag) and those that keep cached API keys current (ops.signers)."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _after_migrate(sender, apps=global_apps, using="default", **kwargs) -> None:
    # `flush` (run between transactional tests) sends no `apps`.
    from ops.db_roles import runtime_grants_after_migrate
    from ops.roles import roles_sync
    from ops.schedules import schedules_install

    roles_sync(apps, using=using)
    schedules_install(apps)
    runtime_grants_after_migrate(using=using)


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in

        from ops import checks, daily_logout, lockout, schema, signers  # noqa: F401 - they register

        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="ops.after_migrate")
        user_logged_in.connect(daily_logout.on_logged_in, dispatch_uid="ops.daily_logout.stamp")
        user_locked_out.connect(lockout.flag_drf_lockout, dispatch_uid="ops.lockout.drf")
