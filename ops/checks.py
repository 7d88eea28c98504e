"""System checks of the ops app (run by ``manage.py check``; ``--deploy`` in production)."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def field_encryption_keyring(app_configs, **kwargs) -> list[Error]:
    """Production must be given a readable, well-formed field-encryption keyring."""
    if not settings.PRODUCTION:
        return []
    from ops.crypto import keyring

    try:
        ring = keyring()
    except (ImproperlyConfigured, OSError) as exc:
        return [Error(str(exc), id="ops.E001", hint="Mount the keyring file and set its path.")]
    if not ring.index_key:
        return [Error("FIELD_ENCRYPTION_KEYRING has no 'index:' line", id="ops.E002")]
    return []
