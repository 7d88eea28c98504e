"""Demo data of the ops app: one user per role.

Passwords are random and shown only when a user is created; ``--reset-passwords``
issues new ones. Staff users also get a confirmed TOTP authenticator, whose key is shown
once in the same table (``python manage.py totp_code USERNAME`` prints a current code).
Running the seed again changes nothing.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from ops.roles import ROLES

DEMO_USERS = {
    "admin": "Administrator",
    "compliance": "Compliance Officer",
    "compliance2": "Compliance Officer",  # KYC maker-checker: one verifies, one approves
    "risk": "Risk Manager",
    "risk2": "Risk Manager",
    "trader": "Trader",
    "quant": "Quant",
    "ops": "Operations",
    "auditor": "Auditor",
    "client": "Client",
    "algo": "Algo Client",
}


@transaction.atomic
def seed_users(*, reset_passwords: bool = False) -> list[tuple[str, str, str | None, str]]:
    """Ensure the demo users exist; return (username, role, new password or None, 2FA key).

    The 2FA key is the base32 key of a staff user's new authenticator, "(unchanged)" if
    they had one, "-" for users who sign in without one.
    """
    from django_otp import user_has_device

    from ops.twofactor import totp_device_issue, totp_key_base32

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
        key = "-"
        if user.is_staff:
            key = "(unchanged)"
            if not user_has_device(user):
                key = totp_key_base32(totp_device_issue(user=user, name="demo authenticator"))
        rows.append((username, role, password, key))
    return rows


def seed(*, stdout, reset_passwords: bool = False) -> None:
    rows = seed_users(reset_passwords=reset_passwords)
    new = [r for r in rows if r[2] or r[3] not in {"-", "(unchanged)"}]
    if not new:
        stdout.write(f"Demo users: {len(rows)} already present (passwords unchanged).")
        return
    stdout.write(
        "Demo users (passwords and 2FA keys are shown only now; --reset-passwords issues new "
        "passwords).\nStaff sign in to /admin/ with a code from an authenticator app holding "
        "the 2FA key, or from `python manage.py totp_code USERNAME` (demo only):"
    )
    stdout.write(f"  {'username':<12} {'role':<20} {'2FA key':<32} password")
    for username, role, password, key in rows:
        stdout.write(f"  {username:<12} {role:<20} {key:<32} {password or '(unchanged)'}")
