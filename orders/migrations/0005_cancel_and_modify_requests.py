"""Cancel and modify become requests the broker answers: CANCEL_PENDING, MODIFY_PENDING."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_refuse_truncate"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="pending_change",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="order",
            name="pending_from",
            field=models.CharField(
                blank=True,
                choices=[
                    ("AMO", "After-market order, queued for the next open"),
                    ("ACCEPTED", "Accepted, not yet at the exchange"),
                    ("OPEN", "Open at the exchange"),
                    ("TRIGGER_PENDING", "Stop order waiting for its trigger"),
                    ("PARTIALLY_FILLED", "Partially filled"),
                    ("CANCEL_PENDING", "Cancel sent to the broker, not yet answered"),
                    ("MODIFY_PENDING", "Change sent to the broker, not yet answered"),
                    ("COMPLETE", "Filled"),
                    ("CANCELLED", "Cancelled"),
                    ("REJECTED", "Rejected"),
                    ("EXPIRED", "Expired at the close"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=[
                    ("AMO", "After-market order, queued for the next open"),
                    ("ACCEPTED", "Accepted, not yet at the exchange"),
                    ("OPEN", "Open at the exchange"),
                    ("TRIGGER_PENDING", "Stop order waiting for its trigger"),
                    ("PARTIALLY_FILLED", "Partially filled"),
                    ("CANCEL_PENDING", "Cancel sent to the broker, not yet answered"),
                    ("MODIFY_PENDING", "Change sent to the broker, not yet answered"),
                    ("COMPLETE", "Filled"),
                    ("CANCELLED", "Cancelled"),
                    ("REJECTED", "Rejected"),
                    ("EXPIRED", "Expired at the close"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("requested_at__isnull", False)),
                fields=["requested_at"],
                name="order_request_waiting",
            ),
        ),
    ]
