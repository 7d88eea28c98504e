"""Human labels of the audit trail's action codes, as data in one place.

Every code that ``audit_record(action=...)`` writes today has a label here; a code with no
label (a new one, or one from an older release) gets one derived from its text, so the
admin never shows a bare code alone: ``risk.limit_approved`` reads "Risk: limit approved".
"""

#: Action code -> what a compliance officer would call it.
AUDIT_ACTION_LABELS: dict[str, str] = {
    # Sign-ins (compliance.signals, ops.twofactor, ops.daily_logout)
    "auth.login": "Signed in",
    "auth.logout": "Signed out",
    "auth.login_failed": "Sign-in failed",
    "auth.locked_out": "Sign-in locked out",
    "auth.daily_logout": "Signed out by the daily logout",
    "auth.totp_enrolled": "Authenticator set up",
    "auth.totp_issued": "Authenticator issued",
    # The admin's own log (compliance.signals)
    "admin.add": "Added in the admin",
    "admin.change": "Changed in the admin",
    "admin.delete": "Deleted in the admin",
    "admin.other": "Other admin action",
    # Orders, fills and the ledger (orders.services): one per order status, and modify
    "order.amo": "After-market order queued",
    "order.accepted": "Order accepted",
    "order.open": "Order open at the exchange",
    "order.trigger_pending": "Stop order waiting for its trigger",
    "order.partially_filled": "Order partially filled",
    "order.complete": "Order filled",
    "order.cancelled": "Order cancelled",
    "order.rejected": "Order rejected",
    "order.expired": "Order expired",
    "order.modified": "Order modified",
    # Cancels and changes of an order at the broker: requested, then answered
    "order.cancel_pending": "Order waiting for the broker to cancel it",
    "order.modify_pending": "Order waiting for the broker to change it",
    "order.cancel_requested": "Order cancel sent to the broker",
    "order.cancel_refused": "Order cancel refused by the broker (too late)",
    "order.modify_requested": "Order change sent to the broker",
    "order.modify_refused": "Order change refused by the broker",
    "fill.applied": "Fill applied",
    "ledger.posted": "Ledger entry posted",
    "position.converted": "Position converted between MIS and CNC",
    # Risk (risk.services): maker-checker limit changes and kill switches
    "risk.limit_proposed": "Risk limit change proposed",
    "risk.limit_approved": "Risk limit change approved",
    "risk.limit_rejected": "Risk limit change rejected",
    "risk.kill_switch_tripped": "Kill switch tripped",
    "risk.kill_switch_reset": "Kill switch reset",
    # Operations (ops.apikeys, ops.admin, ops.rotation)
    "ops.api_key_created": "API key created",
    "ops.api_key_rotated": "API key rotated",
    "ops.api_key_revoked": "API key revoked",
    "ops.api_key_expired": "API key expired",
    "ops.api_key_ips_changed": "API key static IPs changed",
    "ops.api_key_ip_change_refused": "API key static IP change refused",
    "ops.allowlist_saved": "IP allowlist entry saved",
    "ops.allowlist_deleted": "IP allowlist entry deleted",
    "ops.secret_rotated": "Secret rotated",
    "ops.secret_rotation_failed": "Secret rotation failed",
    "ops.secret_rotation_skipped": "Secret rotation skipped",
    "ops.secret_rotation_dry_run": "Secret rotation dry run",
    # The compliance desk (compliance.alerts)
    "alert.raised": "Compliance alert raised",
    # KYC (compliance.kyc.services): one per application status, and the client's KYC state
    "kyc.application_created": "KYC application created",
    "kyc.application_changed": "KYC application changed (draft)",
    "kyc.document_uploaded": "KYC document uploaded",
    "kyc.document_viewed": "KYC document opened",
    "kyc.ipv_recorded": "KYC in-person verification recorded",
    "kyc.submitted": "KYC application submitted",
    "kyc.under_review": "KYC application taken for review",
    "kyc.on_hold": "KYC application put on hold",
    "kyc.verified": "KYC application verified (maker)",
    "kyc.approved": "KYC application approved (checker)",
    "kyc.rejected": "KYC application rejected",
    "kyc.kra_status": "KRA status of a KYC application changed",
    "kyc.risk_recomputed": "KYC risk category recomputed",
    "kyc.rekyc_due": "Periodic re-KYC fell due",
    "client.kyc_changed": "Client's KYC state changed",
    # AML screening (compliance.screening)
    "screening.list_imported": "Screening list version imported",
    "screening.hit_raised": "Screening hit raised",
    "screening.hit_assigned": "Screening hit assigned",
    "screening.hit_true_match": "Screening hit disposed: true match",
    "screening.hit_false_positive": "Screening hit disposed: false positive",
    "screening.match_rule_changed": "Screening match rule changed",
    "account.suspended": "Trading account suspended",
    "alert.assigned": "Compliance alert assigned to an officer",
    "alert.dismissed": "Compliance alert dismissed (no action)",
    "alert_rule.changed": "Compliance alert rule's parameters changed",
    "alert.filed_in_case": "Compliance alert filed in a case",
    "kyc.assigned": "KYC application assigned to an officer",
    "rekyc.assigned": "Re-KYC item assigned to an officer",
    # Cases and STRs (compliance.cases.services)
    "case.opened": "Case opened",
    "case.alerts_added": "Alerts added to a case",
    "case.assigned": "Case assigned to an officer",
    "case.review": "Case taken for review",
    "case.escalate": "Case escalated to the principal officer",
    "case.note_added": "Note added to a case",
    "case.evidence_added": "Evidence linked to a case",
    "case.closure_requested": "Case closure proposed (first officer)",
    "case.closure_rejected": "Case closure sent back",
    "case.closed": "Case closed (second officer)",
    "str.drafted": "STR drafted (suspicion determined)",
    "str.redrafted": "STR redrafted",
    "str.filed": "STR filed (approved by a second officer)",
    "str.read": "STR file opened",
    "str.due_reminded": "Officers reminded of an STR due",
    # Contract notes (compliance.reports.services)
    "contract_note.generated": "Contract note generated",
    # Contract notes e-mailed (compliance.reports.dispatch) and downloaded (API, admin)
    "contract_note.sent": "Contract note e-mailed to the client",
    "contract_note.dispatch_failed": "Contract note e-mail failed",
    "contract_note.downloaded": "Contract note file downloaded",
    # Report exports (compliance.reports.exports, compliance.reports.export_schedules)
    "report.export_requested": "Report export requested",
    "report.export_completed": "Report export completed",
    "report.export_failed": "Report export failed",
    "report.export_downloaded": "Report export downloaded",
    "report.export_refused": "Report export download refused (file altered)",
    "report.schedule_created": "Report export scheduled",
    # Backtest runs (strategies.services)
    "backtest.requested": "Backtest requested",
    "backtest.walkforward_requested": "Walk-forward requested",
    "backtest.completed": "Backtest completed",
    "backtest.failed": "Backtest failed",
    # Retention and archival (compliance.retention)
    "retention.policy_changed": "Retention policy changed",
    "retention.hold_placed": "Legal hold placed",
    "retention.hold_released": "Legal hold released",
    "deployment.created": "Strategy deployment created",
    "deployment.running": "Strategy deployment started",
    "deployment.paused": "Strategy deployment paused",
    "deployment.stopped": "Strategy deployment stopped",
    "archive.created": "Month archived",
    "archive.verified": "Archive verified",
    "archive.released": "Archived rows released from the online tables",
    "archive.restored": "Archive restored (read-only)",
    "archive.purge_requested": "Archive purge requested (first officer)",
    "archive.purge_approved": "Archive purge approved (second officer)",
    "archive.purged": "Archive files purged after retention",
}


def action_label(code: str) -> str:
    """The human label of ``code``; for a code with none, one derived from the code itself."""
    if code in AUDIT_ACTION_LABELS:
        return AUDIT_ACTION_LABELS[code]
    area, _, what = code.partition(".")
    area = area.replace("_", " ").strip()
    what = what.replace("_", " ").replace(".", " ").strip()
    if not what:
        return area.capitalize() or code
    return f"{area.capitalize()}: {what}"


def action_display(code: str) -> str:
    """The label with its code, as the admin shows an action: "Order accepted (order.accepted)"."""
    return f"{action_label(code)} ({code})"
