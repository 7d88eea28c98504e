"""Reads of AML screening: who a client is for screening, the lists' current versions and
entries, the match rules, and the hits queue."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet

from compliance.kyc.selectors import kyc_application_current
from compliance.models import Client
from compliance.screening.matching import Candidate, Weights
from compliance.screening.models import (
    HitStatus,
    ListEntry,
    ListVersion,
    MatchRule,
    ScreeningHit,
    ScreeningList,
)
from tradingsite.errors import DomainError


class MatchRuleMissing(DomainError):
    """No match rule (threshold and weights) for a list: screening cannot score it."""


@dataclass(frozen=True)
class ScreeningSubject:
    """Who is screened: a name, and the date of birth and nationality when known."""

    name: str
    date_of_birth: dt.date | None = None
    nationality: str | None = None


def screening_subject(*, client: Client) -> ScreeningSubject:
    """The client as screening sees them: the name, and from their latest KYC application
    the date of birth and the country (as nationality), the extra evidence of a match."""
    application = kyc_application_current(client_id=client.pk)
    if application is None:
        return ScreeningSubject(name=client.name)
    return ScreeningSubject(
        name=client.name,
        date_of_birth=application.date_of_birth,
        nationality=application.country or None,
    )


def hits_unresolved(*, client_id: int) -> dict[str, int]:
    """The client's hits that bar approving their KYC: open ones and true matches."""
    counts = ScreeningHit.objects.filter(client_id=client_id).aggregate(
        open=Count("id", filter=Q(status=HitStatus.OPEN)),
        true_match=Count("id", filter=Q(status=HitStatus.TRUE_MATCH)),
    )
    return {k: v for k, v in counts.items() if v}


def match_weights(*, list_code: str) -> Weights:
    """The list's match rule, else the default rule; none at all is an error."""
    rules = {r.list_code: r for r in MatchRule.objects.filter(list_code__in=[list_code, ""])}
    rule = rules.get(list_code) or rules.get("")
    if rule is None:
        raise MatchRuleMissing(
            f"no match rule for the {list_code} list and no default rule: add one "
            "(compliance.MatchRule) before screening"
        )
    return Weights.of(rule.weights())


def list_versions_current() -> list[ListVersion]:
    """The latest version of every list."""
    latest = ScreeningList.objects.annotate(last=Max("versions__number")).filter(last__isnull=False)
    return [
        ListVersion.objects.select_related("screening_list").get(
            screening_list=screening_list, number=screening_list.last
        )
        for screening_list in latest
    ]


def screening_candidates(*, versions: list[ListVersion]) -> list[tuple[int, Candidate, Weights]]:
    """Every entry of ``versions`` as (entry id, what it offers to match, its list's weights)."""
    found = []
    for version in versions:
        weights = match_weights(list_code=version.screening_list.code)
        for entry in ListEntry.objects.filter(version=version).only(
            "id", "name", "aliases", "dates_of_birth", "nationalities"
        ):
            names = (entry.name, *(a["name"] for a in entry.aliases))
            candidate = Candidate(
                names=names,
                dates_of_birth=tuple(entry.dates_of_birth),
                nationalities=tuple(entry.nationalities),
            )
            found.append((entry.pk, candidate, weights))
    return found


def hits_suppressed(*, client: Client, entry: ListEntry) -> ScreeningHit | None:
    """The earlier hit that stops this one being raised again: an open or true-match hit
    of the same client and listing, or a false positive while the listing is unchanged."""
    return (
        ScreeningHit.objects.filter(client=client, entry_key=entry.key)
        .filter(
            Q(status__in=[HitStatus.OPEN, HitStatus.TRUE_MATCH])
            | Q(status=HitStatus.FALSE_POSITIVE, entry_digest=entry.digest)
        )
        .order_by("-id")
        .first()
    )


def hits_open() -> QuerySet[ScreeningHit]:
    return ScreeningHit.objects.filter(status=HitStatus.OPEN).order_by("raised_at", "id")


def hits_counts() -> dict[str, object]:
    """The queue's numbers: hits by status, and the oldest open hit's raising time."""
    counts = dict(
        ScreeningHit.objects.values_list("status").annotate(n=Count("id")).order_by("status")
    )
    oldest = hits_open().aggregate(oldest=Min("raised_at"))["oldest"]
    return {
        "by_status": {label: counts.get(value, 0) for value, label in HitStatus.choices},
        "oldest_open": oldest,
    }


def clients_for_screening() -> QuerySet[Client]:
    return Client.objects.order_by("pk").only("pk", "name")
