"""Demo data of contract notes and exports: after the other seeders have traded, the note of
every client and trading day with fills, made and e-mailed as beat would after the close;
then a margin snapshot of every account, and every register exported once by the
compliance officer (the trade register in all three formats), so the Reports page has a
file of each to download.

On the embedded profile the mail goes to files in ``<DATA_DIR>/mail`` (one ``.log`` file per
run of the mail backend). A second run makes and sends nothing new.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from compliance.reports.dispatch import contract_notes_dispatch
from compliance.reports.exports import report_export_request, report_export_run
from compliance.reports.models import ContractNoteDispatch, ReportExport
from compliance.reports.registers import REGISTERS
from compliance.reports.services import contract_notes_generate
from orders.selectors import fill_trade_dates


def seed(*, stdout, reset_passwords: bool = False) -> None:
    made = [note for day in fill_trade_dates() for note in contract_notes_generate(day=day)]
    dispatches = contract_notes_dispatch()
    sent = [d for d in dispatches if d.status == ContractNoteDispatch.Status.SENT]
    if not made and not dispatches:
        stdout.write("Contract notes: already made and sent.")
        return
    where = getattr(settings, "EMAIL_FILE_PATH", None) or settings.EMAIL_BACKEND
    stdout.write(
        f"Contract notes: {len(made)} made, {len(sent)} e-mailed ({where}), "
        f"{len(dispatches) - len(sent)} failed (see Contract note records in the admin)."
    )


def seed_exports(*, stdout, reset_passwords: bool = False) -> None:
    """One export of each register over the demo's trading days, run here (the worker may
    not be up yet), so nothing is queued for the worker's start."""
    officer = get_user_model().objects.filter(username="compliance").first()
    days = fill_trade_dates()
    if officer is None or not days:
        return
    if ReportExport.objects.filter(requested_by=officer).exists():
        stdout.write("Report exports: already made.")
        return
    from orders.eod import margin_snapshots_take

    margin_snapshots_take(kind="close")  # the demo's day, for the daily margin statement
    start = max(days[0], days[-1] - timedelta(days=settings.REPORT_MAX_DAYS - 1))
    span = {"date_from": start.isoformat(), "date_to": days[-1].isoformat()}
    wanted = [(kind, "csv") for kind in sorted(REGISTERS)]
    wanted += [("trade_register", "xlsx"), ("trade_register", "pdf")]
    made = []
    for kind, fmt in wanted:
        data = {k: v for k, v in span.items() if k in REGISTERS[kind].filters}
        export = report_export_request(user=officer, kind=kind, fmt=fmt, data=data, enqueue=False)
        made.append(report_export_run(export.pk))
    done = sum(e.status == ReportExport.Status.SUCCEEDED for e in made)
    stdout.write(
        f"Report exports: {done} of {len(made)} made (Reports in the admin), "
        f"{span['date_from']} to {span['date_to']}."
    )
