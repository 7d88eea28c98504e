"""Demo data of the ops app: one user per role.

Passwords are random and shown only when a user is created; ``--reset-passwords``
issues new ones. Running the seed again changes nothing.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from ops.roles import ROLES

DEMO_USERS = {
    "admin": "Administrator",
    "compliance": "Compliance Officer",
    "risk": "Risk Manager",
    "risk2": "Risk Manager",
    "trader": "Trader",
    "ops": "Operations",
    "auditor": "Auditor",
    "client": "Client",
    "algo": "Algo Client",
}


@transaction.atomic
def seed_users(*, reset_passwords: bool = False) -> list[tuple[str, str, str | None]]:
    """Ensure the demo users exist; return (username, role, new password or None)."""
    User = get_user_model()
    rows = []
    for username, role in DEMO_USERS.items():
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@demo.tradingsite.in", "is_staff": ROLES[role]["staff"]},
        )
        password = None
        if created or reset_passwords:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
        if not user.groups.filter(name=role).exists():
            user.groups.add(Group.objects.get(name=role))
        rows.append((username, role, password))
    return rows


def seed(*, stdout, reset_passwords: bool = False) -> None:
    rows = seed_users(reset_passwords=reset_passwords)
    new = [r for r in rows if r[2]]
    if not new:
        stdout.write(f"Demo users: {len(rows)} already present (passwords unchanged).")
        return
    stdout.write("Demo users (passwords are shown only now; --reset-passwords issues new ones):")
    stdout.write(f"  {'username':<12} {'role':<20} password")
    for username, role, password in rows:
        stdout.write(f"  {username:<12} {role:<20} {password or '(unchanged)'}")
