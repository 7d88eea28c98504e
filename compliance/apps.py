"""App configuration for compliance: connects the audit-trail receivers; after migrate it
makes the default AML match rule when it is missing, and reloads the shipped KYC rules into
empty tables (a flushed test database too)."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _after_migrate(sender, apps=global_apps, using="default", **kwargs) -> None:
    # `flush` (run between transactional tests) sends no `apps`, and empties the table.
    from compliance.screening.services import match_rule_default_ensure

    match_rule_default_ensure(apps=apps, using=using)


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.admin.models import LogEntry
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
        from django.db.models.signals import post_save

        from compliance import signals

        post_migrate.connect(
            _after_migrate, sender=self, dispatch_uid="compliance.screening.match_rule"
        )
        user_logged_in.connect(signals.on_logged_in, dispatch_uid="compliance.audit.login")
        user_logged_out.connect(signals.on_logged_out, dispatch_uid="compliance.audit.logout")
        user_login_failed.connect(
            signals.on_login_failed, dispatch_uid="compliance.audit.login_failed"
        )
        user_locked_out.connect(signals.on_locked_out, dispatch_uid="compliance.audit.locked_out")
        signals.audit_bulk_admin_logs()
        post_save.connect(
            signals.on_admin_log_entry, sender=LogEntry, dispatch_uid="compliance.audit.admin"
        )
        post_migrate.connect(_kyc_rules_if_empty, sender=self, dispatch_uid="compliance.kyc.rules")


def _kyc_rules_if_empty(sender, using: str = "default", apps=None, **kwargs) -> None:
    from django.apps import apps as global_apps

    from compliance.kyc.rules import kyc_rules_load

    apps = apps or global_apps
    try:  # migrated back before compliance 0010: there are no KYC tables to fill
        apps.get_model("compliance", "ReKycInterval")
    except LookupError:
        return
    kyc_rules_load(apps, only_if_empty=True, using=using)
