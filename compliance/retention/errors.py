"""The domain errors of retention and archival."""

from tradingsite.errors import DomainError


class ArchiveRefused(DomainError, ValueError):
    """An archive, release, restore or purge the rules do not allow; the message says why."""

    problem_type = "conflict"


class ArchiveTampered(DomainError, ValueError):
    """An archive file or manifest no longer matches what was recorded; names the file."""

    problem_type = "conflict"
