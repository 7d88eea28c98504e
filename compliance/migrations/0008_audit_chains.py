"""The audit trail becomes many chains: one per trading account, and the firm's.

The single head row was a firm-wide hot row: every audited write queued on it. Each
event now names its chain (``account:<id>`` for events about an account's records, else
``firm``) and its place in it; the hash covers the chain's name.

The data step re-chains the existing events without losing or reordering any: it first
verifies the old single chain (and refuses to migrate a broken one), then walks the
events in their old order, gives each its chain and place, recomputes ``prev_hash`` and
``hash``, converts each checkpoint into the heads of every chain at that point, and
verifies the new chains before it commits. On PostgreSQL the append-only triggers are
set aside for the rewrite, inside the migration's transaction, and put back.
"""

import hashlib
import json
from collections import defaultdict

from django.db import migrations, models

from tradingsite.records import refuse_truncate_operations

GENESIS_HASH = "0" * 64
BATCH = 5000
OLD_FIELDS = (
    "seq", "occurred_at", "action", "object_type", "object_id", "actor_id", "actor_username",
    "source_ip", "request_id", "before", "after", "prev_hash",
)  # fmt: skip
NEW_FIELDS = ("chain", *OLD_FIELDS)
TRIGGERS = (
    ("compliance_auditevent", "compliance_auditevent_append_only"),
    ("compliance_auditcheckpoint", "compliance_auditcheckpoint_append_only"),
)


def _digest(values: dict, names: tuple[str, ...]) -> str:
    from compliance.chain import plain  # the canonical form of values, unchanged by this step

    text = json.dumps(
        plain({name: values[name] for name in names}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256((values["prev_hash"] + text).encode("utf-8")).hexdigest()


def _account_of(apps, db):
    """object_type -> {object_id: account id} for every model that belongs to an account."""
    owners = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label == "orders.tradingaccount":
            owners[label] = {
                str(pk): pk for pk in model.objects.using(db).values_list("pk", flat=True)
            }
            continue
        field = next((f for f in model._meta.fields if f.name == "account"), None)
        if field is not None and field.related_model._meta.label_lower == "orders.tradingaccount":
            rows = model.objects.using(db).values_list("pk", "account_id")
            owners[label] = {str(pk): account for pk, account in rows if account}
    return owners


def _triggers(schema_editor, state: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table, trigger in TRIGGERS:
            schema_editor.execute(f"ALTER TABLE {table} {state} TRIGGER {trigger}")


def rechain(apps, schema_editor):
    db = schema_editor.connection.alias
    Event = apps.get_model("compliance", "AuditEvent")
    Checkpoint = apps.get_model("compliance", "AuditCheckpoint")
    Chain = apps.get_model("compliance", "AuditChain")
    if not Event.objects.using(db).exists():
        return
    owners = _account_of(apps, db)
    checkpoints = defaultdict(list)
    for pk, seq, hash_ in Checkpoint.objects.using(db).values_list("pk", "seq", "hash"):
        checkpoints[seq].append((pk, hash_))
    heads: dict[str, list] = {}
    converted: dict[int, dict] = {}
    old_seq, old_hash = 0, GENESIS_HASH
    columns = ("id", *OLD_FIELDS, "hash")
    _triggers(schema_editor, "DISABLE")
    with schema_editor.connection.cursor() as cursor:
        while True:
            batch = list(
                Event.objects.using(db)
                .filter(seq__gt=old_seq)
                .order_by("seq")
                .values_list(*columns)[:BATCH]
            )
            if not batch:
                break
            updates = []
            for row in batch:
                event = dict(zip(columns, row, strict=True))
                if event["seq"] != old_seq + 1 or event["prev_hash"] != old_hash:
                    raise RuntimeError(
                        f"The audit chain is broken at seq {old_seq + 1}: it is not re-chained. "
                        "Run audit_verify on the previous release and investigate first."
                    )
                if _digest(event, OLD_FIELDS) != event["hash"]:
                    raise RuntimeError(
                        f"Audit event {event['seq']} does not match its hash: it is not "
                        "re-chained. Run audit_verify on the previous release and investigate."
                    )
                old_seq, old_hash = event["seq"], event["hash"]
                account = owners.get(event["object_type"], {}).get(event["object_id"])
                chain = f"account:{account}" if account else "firm"
                seq, prev = heads.get(chain, (0, GENESIS_HASH))
                event.update(chain=chain, seq=seq + 1, prev_hash=prev)
                event["hash"] = _digest(event, NEW_FIELDS)
                heads[chain] = [event["seq"], event["hash"]]
                updates.append((chain, event["seq"], prev, event["hash"], event["id"]))
                for pk, hash_ in checkpoints.get(old_seq, ()):
                    converted[pk] = dict(heads) if hash_ == old_hash else {}
            cursor.executemany(
                "UPDATE compliance_auditevent SET chain = %s, seq = %s, prev_hash = %s, "
                "hash = %s WHERE id = %s",
                updates,
            )
        for pk, snapshot in converted.items():
            cursor.execute(
                "UPDATE compliance_auditcheckpoint SET heads = %s, events = %s WHERE id = %s",
                [json.dumps(snapshot), sum(seq for seq, _ in snapshot.values()), pk],
            )
    _triggers(schema_editor, "ENABLE")
    Chain.objects.using(db).bulk_create(
        [Chain(key=chain, seq=seq, hash=hash_) for chain, (seq, hash_) in heads.items()]
    )
    _verify_rechained(Event, db, heads)


def unchain(apps, schema_editor):
    """Going back is for an empty trail only: the old single chain cannot be rebuilt."""
    if (
        apps.get_model("compliance", "AuditEvent")
        .objects.using(schema_editor.connection.alias)
        .exists()
    ):
        raise RuntimeError("The audit trail has events: its chains cannot be merged back into one.")


def _verify_rechained(Event, db, heads) -> None:
    """Read the new chains back and verify every link before the migration commits."""
    columns = (*NEW_FIELDS, "hash")
    walked: dict[str, list] = {}
    rows = Event.objects.using(db).order_by("chain", "seq").values_list(*columns)
    for row in rows.iterator(chunk_size=BATCH):
        event = dict(zip(columns, row, strict=True))
        seq, prev = walked.get(event["chain"], (0, GENESIS_HASH))
        if event["seq"] != seq + 1 or event["prev_hash"] != prev:
            raise RuntimeError(f"Re-chaining failed at {event['chain']} seq {seq + 1}")
        if _digest(event, NEW_FIELDS) != event["hash"]:
            raise RuntimeError(f"Re-chaining failed: {event['chain']} seq {event['seq']}")
        walked[event["chain"]] = [event["seq"], event["hash"]]
    if walked != heads:
        raise RuntimeError("Re-chaining failed: the chain heads do not match the events")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0007_refuse_truncate"),
        ("orders", "0004_refuse_truncate"),
        ("ops", "0007_refuse_truncate"),
        ("risk", "0006_refuse_truncate"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("key", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField(default=0)),
                ("hash", models.CharField(default=GENESIS_HASH, max_length=64)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"default_permissions": ()},
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(
                default="firm", editable=False, help_text='"firm" or "account:<id>"', max_length=32
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(editable=False, help_text="Position in its chain"),
        ),
        migrations.RemoveIndex(model_name="auditevent", name="compliance_audit_action_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="compliance_audit_object_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="compliance_audit_actor_idx"),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "id"], name="compliance_audit_action_id_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["object_type", "object_id", "id"], name="compliance_audit_obj_id_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["actor_username", "id"], name="compliance_audit_actor_id_idx"
            ),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"default_permissions": ("view",), "ordering": ["id"]},
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="heads",
            field=models.JSONField(default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="events",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(rechain, unchain, elidable=False),
        migrations.RemoveField(model_name="auditcheckpoint", name="seq"),
        migrations.RemoveField(model_name="auditcheckpoint", name="hash"),
        migrations.AlterModelOptions(
            name="auditcheckpoint",
            options={
                "default_permissions": ("view",),
                "get_latest_by": ["id"],
                "ordering": ["-id"],
            },
        ),
        migrations.DeleteModel(name="AuditChainHead"),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "seq"), name="compliance_audit_chain_seq"
            ),
        ),
        *refuse_truncate_operations("compliance_auditchain"),
    ]
