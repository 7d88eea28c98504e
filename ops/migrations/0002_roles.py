"""Data migration: create the eight role groups with their permissions (see ops/roles.py)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from ops.roles import roles_sync

    roles_sync(apps, using=schema_editor.connection.alias)


def delete_roles(apps, schema_editor):
    from ops.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("ops", "0001_initial"),
        ("orders", "0001_initial"),
        ("risk", "0001_initial"),
        ("compliance", "0001_initial"),
        ("marketdata", "0001_initial"),
        ("strategies", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
