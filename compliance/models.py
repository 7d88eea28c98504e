"""Models of the compliance app."""

from django.db import models


class ComplianceAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the compliance desk's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("review_kyc", "Can work the KYC queue"),
            ("approve_kyc", "Can approve or reject a client's KYC"),
            ("screen_aml", "Can run AML screening and review its hits"),
            ("manage_surveillance_case", "Can open, work and close surveillance cases"),
            ("file_str", "Can file a suspicious transaction report (STR)"),
            ("view_audit_trail", "Can read the audit trail"),
            ("verify_audit_trail", "Can verify the audit trail's hash chain"),
            ("export_regulatory_reports", "Can export regulatory reports"),
        ]
