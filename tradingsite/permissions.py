"""DRF permission classes built from Django permissions, so roles decide who may call what."""

from rest_framework.permissions import BasePermission


def holds(perm: str) -> type[BasePermission]:
    """A permission class admitting users who hold ``perm``, e.g. "marketdata.view_market_data"."""

    class Holds(BasePermission):
        message = f"This needs the {perm} permission."

        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.has_perm(perm))

    Holds.__name__ = f"Holds_{perm.replace('.', '_')}"
    return Holds
