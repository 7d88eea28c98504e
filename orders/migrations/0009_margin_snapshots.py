"""Margin snapshots: a kept record of every account's funds and margin through the day."""

import django.db.models.deletion
from django.db import migrations, models

from tradingsite.records import refuse_delete_operations, refuse_truncate_operations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_account_kind"),
    ]

    operations = [
        migrations.CreateModel(
            name="MarginSnapshot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("trade_date", models.DateField()),
                ("taken_at", models.DateTimeField()),
                (
                    "kind",
                    models.CharField(
                        choices=[("intraday", "In session"), ("close", "After the close")],
                        max_length=8,
                    ),
                ),
                ("cash", models.DecimalField(decimal_places=2, max_digits=16)),
                (
                    "blocked",
                    models.DecimalField(
                        decimal_places=2, help_text="Funds blocked for open orders", max_digits=16
                    ),
                ),
                (
                    "margin_used",
                    models.DecimalField(
                        decimal_places=2, help_text="Held by open intraday positions", max_digits=16
                    ),
                ),
                ("available", models.DecimalField(decimal_places=2, max_digits=16)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="margin_snapshots",
                        to="orders.tradingaccount",
                    ),
                ),
            ],
            options={
                "ordering": ["trade_date", "account", "taken_at"],
                "default_permissions": ("view",),
                "indexes": [
                    models.Index(fields=["trade_date", "account"], name="margin_snapshot_day")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "taken_at"), name="margin_snapshot_once"
                    )
                ],
            },
        ),
        *refuse_delete_operations("orders_marginsnapshot"),
        *refuse_truncate_operations("orders_marginsnapshot"),
    ]
