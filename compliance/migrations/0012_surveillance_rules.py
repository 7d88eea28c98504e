"""Linked client groups, and the surveillance rules with their default parameters
(docs/compliance-surveillance.md says what each one means). The defaults are frozen here;
officers tune them in the admin afterwards."""

import django.db.models.deletion
from django.db import migrations, models


#: code, name, description, default parameters (frozen: later edits are the officers')
RULES = [
    (
        "wash_trade", "Wash or self trades",
        "The same client, or clients of one linked group, on both sides of the same "
        "instrument within a window at matching prices.",
        {"window_seconds": 60, "price_tolerance_pct": 0.1},
    ),
    (
        "spoofing", "Spoofing or layering",
        "Large orders away from the touch, cancelled within seconds, while the same client "
        "trades on the other side.",
        {"min_quantity": 1000, "min_distance_pct": 0.5, "cancel_within_seconds": 10,
         "other_side_window_seconds": 60},
    ),
    (
        "order_to_trade", "Order-to-trade ratio",
        "The day's order-to-trade ratio per client and per algo ID against NSE's slabs; "
        "orders within 0.75% of the market are not counted.",
        {"slabs": [{"from": 500, "penalty_rupees": 5000},
                   {"from": 750, "penalty_rupees": 10000},
                   {"from": 1000, "penalty_rupees": 20000}],
         "exclude_within_pct": 0.75, "min_orders": 50},
    ),
    (
        "marking_close", "Marking the close",
        "A client's large share of the buying (selling) in the last minutes of the session "
        "while the closing price moved up (down) by more than a threshold.",
        {"last_minutes": 30, "move_pct": 2, "min_share_pct": 25},
    ),
    (
        "front_running", "Front running",
        "A staff or proprietary account trading on the same side of the same instrument "
        "shortly before a large client order.",
        {"window_seconds": 300, "min_client_quantity": 5000},
    ),
    (
        "circular_trading", "Circular trading",
        "Shares passing round a linked group and back (A to B to C to A) within a window at "
        "matching prices.",
        {"window_seconds": 600, "leg_seconds": 5, "price_tolerance_pct": 0.5, "min_parties": 3},
    ),
    (
        "concentration", "Concentration",
        "A client's share of the day's traded volume of an instrument above a threshold.",
        {"share_pct": 25, "min_quantity": 1000},
    ),
]  # fmt: skip


def rules_create(apps, schema_editor):
    AlertRule = apps.get_model("compliance", "AlertRule")
    for code, name, description, params in RULES:
        AlertRule.objects.get_or_create(
            code=code,
            defaults={"kind": "surveillance", "name": name, "description": description,
                      "params": params},
        )  # fmt: skip


def rules_remove(apps, schema_editor):
    AlertRule = apps.get_model("compliance", "AlertRule")
    AlertRule.objects.filter(code__in=[code for code, *_ in RULES], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0011_screening"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClientGroup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, unique=True)),
                (
                    "relation",
                    models.CharField(
                        choices=[
                            ("family", "Family"),
                            ("common_director", "Common director or promoter"),
                            ("shared_contact", "Shared address, mobile or email"),
                            ("shared_bank", "Shared bank account"),
                            ("other", "Other (see note)"),
                        ],
                        max_length=20,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="ClientLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="surveillance_links",
                        to="compliance.client",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="links",
                        to="compliance.clientgroup",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("group", "client"), name="client_link_once_per_group"
                    )
                ],
            },
        ),
        migrations.RunPython(rules_create, rules_remove),
    ]
