"""Global IP allowlists for the admin and the API.

Entries come from a file in the deploy configuration (``IP_ALLOWLIST_FILE``) and from rows
edited in the admin (``AllowlistEntry``). Both are re-read when they change: the file by its
modification time, the rows by a version number in the shared cache that every save and
delete bumps. A surface with no entries is closed, and so is everything when the file has a
bad line (the refusal names it): an allowlist fails shut.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponseForbidden

from ops.models import AllowlistEntry
from ops.netaddr import Network, address_in, client_ip, networks

VERSION_KEY = "ops:allowlist:version"
SURFACES = {"/admin/": "admin", "/api/": "api"}


@dataclass(frozen=True)
class Allowlist:
    ranges: dict[str, tuple[Network, ...]]
    error: str = ""

    def allows(self, surface: str, address: str) -> bool:
        return not self.error and address_in(address, self.ranges.get(surface, ()))


def parse_file(text: str, source: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"admin": [], "api": []}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        surfaces = parts[0].split(",") if len(parts) == 2 else []
        if not surfaces or any(s not in found for s in surfaces):
            raise ValueError(f"{source} line {number}: expected 'admin|api|admin,api CIDR'")
        try:
            networks((parts[1],))
        except ValueError as exc:
            raise ValueError(f"{source} line {number}: {exc}") from None
        for surface in surfaces:
            found[surface].append(parts[1])
    return found


_loaded: dict[str, tuple[tuple, Allowlist]] = {}


def allowlist() -> Allowlist:
    """The allowlist in force, rebuilt only when the file or the rows changed."""
    path = Path(settings.IP_ALLOWLIST_FILE)
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        stamp = None
    version = cache.get_or_set(VERSION_KEY, 1, timeout=None)
    key = (str(path), stamp, version)
    cached = _loaded.get("current")
    if cached and cached[0] == key:
        return cached[1]
    try:
        entries = parse_file(path.read_text(), str(path)) if stamp else {"admin": [], "api": []}
    except ValueError as exc:
        built = Allowlist({}, error=str(exc))
    else:
        for row in AllowlistEntry.objects.all():
            for surface in ("admin", "api") if row.surface == "both" else (row.surface,):
                entries[surface].append(row.network)
        built = Allowlist({s: networks(tuple(e)) for s, e in entries.items()})
    _loaded["current"] = (key, built)
    return built


@receiver([post_save, post_delete], sender=AllowlistEntry, dispatch_uid="ops.allowlist_changed")
def _rows_changed(**kwargs) -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)


class AllowlistMiddleware:
    """Refuses admin and API requests from outside the allowlist: 403, as problem+json on
    the API (type ``ip-not-allowed``)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        surface = next(
            (s for prefix, s in SURFACES.items() if request.path.startswith(prefix)), None
        )
        if surface and settings.IP_ALLOWLIST_ENABLED:
            address = client_ip(request)
            current = allowlist()
            if not current.allows(surface, address):
                detail = current.error or f"{address} is not on the {surface} allowlist."
                if surface == "api":
                    from tradingsite.errors import problem_response

                    return problem_response(request, "ip-not-allowed", detail)
                return HttpResponseForbidden(f"403 Forbidden: {detail}", content_type="text/plain")
        return self.get_response(request)
