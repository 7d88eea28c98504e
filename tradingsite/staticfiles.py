"""Static files storage of the embedded profile: hashed names once collected, plain ones before.

WhiteNoise's manifest storage turns every ``{% static %}`` into an error until
``collectstatic`` has written the manifest, so a demo started by hand without it answered
500 on every page. On the embedded profile this storage gives the files' plain names while
the manifest is missing, and settings let WhiteNoise serve them from the apps (its finders);
the ``ops.W001`` check says to run ``collectstatic``. Production keeps the strict storage,
and its deploy check refuses a missing manifest (``ops.E003``).
"""

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class EmbeddedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """The compressed manifest storage, falling back to plain names without a manifest."""

    @property
    def manifest_missing(self) -> bool:
        # Loaded once per process: collecting later takes effect at the next start.
        return not self.hashed_files

    def url(self, name: str | None, force: bool = False) -> str:
        if self.manifest_missing:
            return StaticFilesStorage.url(self, name)
        return super().url(name, force)
