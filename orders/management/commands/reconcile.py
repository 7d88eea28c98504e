"""Compare every working order with its broker's view, and optionally repair the differences."""

from django.core.management.base import BaseCommand

from orders.execution import reconcile


class Command(BaseCommand):
    help = (
        "Report (and with --repair, fix) differences between our working orders and the broker's."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--repair", action="store_true", help="Fix what can be fixed")

    def handle(self, *args, repair: bool = False, **options) -> None:
        found = reconcile(repair=repair)
        for d in found:
            state = "repaired" if d.repaired else "reported"
            self.stdout.write(f"order {d.order_id}: ours {d.ours}, broker {d.broker} ({state})")
        self.stdout.write(self.style.SUCCESS(f"{len(found)} difference(s)."))
