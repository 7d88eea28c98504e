"""Demo data of contract notes: after the other seeders have traded, the note of every
client and trading day with fills, made and e-mailed as beat would after the close.

On the embedded profile the mail goes to files in ``<DATA_DIR>/mail`` (one ``.log`` file per
run of the mail backend). A second run makes and sends nothing new.
"""

from django.conf import settings

from compliance.reports.dispatch import contract_notes_dispatch
from compliance.reports.models import ContractNoteDispatch
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
