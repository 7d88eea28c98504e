"""Global IP allowlists for the admin and the API.

Entries come from a file in the deploy configuration (``IP_ALLOWLIST_FILE``) and from rows
edited in the admin (``AllowlistEntry``). Both are re-read when they change: the file by its
modification time, the rows by a change stamp (``ops.stamps``) that every save and delete
bumps. A surface with no entries is closed, and so is everything when the file has a bad line
(the refusal names it): an allowlist fails shut.

Reading the stamp costs a round trip to Redis. A signed API request already makes one
(``ops.admission``), so for it the middleware checks the allowlist it last built and leaves
the stamp to that round trip: if the stamp moved, :func:`allowlist_confirm` rebuilds the
allowlist and checks again before any view runs. A signed request whose authentication does
not get that far (a refused signature, a view without signatures) is checked against the
current stamp after all, and refused if the fresh allowlist refuses it.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponseForbidden

from ops.models import AllowlistEntry
from ops.netaddr import Network, address_in, client_ip, networks
from ops.stamps import ALLOWLIST, stamp_bump, stamps_read

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
_UNREAD = object()


def _file_stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def allowlist(version=_UNREAD) -> Allowlist:
    """The allowlist in force, rebuilt only when the file or the rows changed; ``version``
    is the rows' stamp when the caller has just read it."""
    path = Path(settings.IP_ALLOWLIST_FILE)
    stamp = _file_stamp(path)
    if version is _UNREAD:
        version = stamps_read([ALLOWLIST])[0]
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
    stamp_bump(ALLOWLIST)


def _last_built(path: Path) -> tuple[object, Allowlist] | None:
    """The rows' stamp and the allowlist this process last built, if the file is unchanged."""
    cached = _loaded.get("current")
    if cached and cached[0][:2] == (str(path), _file_stamp(path)):
        return cached[0][2], cached[1]
    return None


def allowlist_confirm(request, version) -> None:
    """For a request the middleware let through on the allowlist it last built: check again
    now that the rows' stamp is known (see the module docstring); raises ip-not-allowed."""
    built = getattr(request, "_allowlist_unconfirmed", None)
    if built is None:
        return
    del request._allowlist_unconfirmed
    if version == built[0]:
        return
    address = client_ip(request)
    current = allowlist(version)
    if not current.allows("api", address):
        from ops.signing import refuse

        raise refuse("ip-not-allowed", current.error or f"{address} is not on the api allowlist.")


class AllowlistMiddleware:
    """Refuses admin and API requests from outside the allowlist: 403, as problem+json on
    the API (type ``ip-not-allowed``)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        surface = next(
            (s for prefix, s in SURFACES.items() if request.path.startswith(prefix)), None
        )
        if not surface or not settings.IP_ALLOWLIST_ENABLED:
            return self.get_response(request)
        address = client_ip(request)
        if surface == "api" and "HTTP_SIGNATURE_INPUT" in request.META:
            built = _last_built(Path(settings.IP_ALLOWLIST_FILE))
            if built is not None and built[1].allows(surface, address):
                return self._confirmed_later(request, built[0], address)
        refused = self._refusal(request, surface, address)
        return self.get_response(request) if refused is None else refused

    def _confirmed_later(self, request, version, address: str):
        request._allowlist_unconfirmed = (version,)
        response = self.get_response(request)
        if getattr(request, "_allowlist_unconfirmed", None) is None:
            return response  # allowlist_confirm ran in the signed request's round trip
        del request._allowlist_unconfirmed
        refused = self._refusal(request, "api", address)
        return response if refused is None else refused

    @staticmethod
    def _refusal(request, surface: str, address: str):
        current = allowlist()
        if current.allows(surface, address):
            return None
        detail = current.error or f"{address} is not on the {surface} allowlist."
        if surface == "api":
            from tradingsite.errors import problem_response

            return problem_response(request, "ip-not-allowed", detail)
        return HttpResponseForbidden(f"403 Forbidden: {detail}", content_type="text/plain")
