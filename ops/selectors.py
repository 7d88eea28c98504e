"""Reads of the ops app that other code shares."""


def role_names(user) -> list[str]:
    """The user's roles (groups), sorted: from the signer's snapshot on a signed request
    (``ops.signers``), else from the database."""
    cached = getattr(user, "role_names", None)
    if cached is not None:
        return list(cached)
    return sorted(user.groups.values_list("name", flat=True))
