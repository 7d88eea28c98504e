"""Writes of AML screening: importing a list version, screening clients, and disposing
the hits. Every change is audited on the firm's chain (``compliance.services``).

A list file is parsed whole before anything is written (``importers``): a refused file
stores nothing. A new version is screened against every client by a Celery task, enqueued
when the import commits. A true match freezes the client's trading accounts through
``orders.services.account_suspend`` and opens a case on the client (``compliance.cases``,
high priority, for an officer to take); a false positive keeps its reason and stops the
same client and listing being raised again while the listing is unchanged.
"""

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from compliance.assignment import queue_assign
from compliance.models import Client
from compliance.screening.importers import PARSERS, ParsedList
from compliance.screening.matching import Match, Screener
from compliance.screening.models import (
    WEIGHT_FIELDS,
    HitStatus,
    ListEntry,
    ListVersion,
    MatchRule,
    ScreeningHit,
    ScreeningList,
)
from compliance.screening.selectors import (
    clients_for_screening,
    hits_suppressed,
    list_versions_current,
    screening_candidates,
    screening_subject,
)
from compliance.services import audit_record, audited_atomic
from tradingsite.errors import DomainError

SCREEN_AML = "compliance.screen_aml"
DEFAULT_RULE_FILE = Path(__file__).parent / "data" / "match_rule_default.json"
BATCH = 500


class ListAlreadyImported(DomainError):
    """This very file (same sha256) is already a version of the list."""

    problem_type = "conflict"


class DispositionRefused(DomainError):
    """A hit that cannot be disposed so: already disposed, no reason, or no permission."""


def _actor_name(actor: AbstractBaseUser | None) -> str:
    return actor.get_username() if actor is not None else "system"


def screening_list_import(
    *, list_code: str, data: bytes, source: str, actor: AbstractBaseUser | None = None
) -> ListVersion:
    """Import ``data`` (the list file's bytes) as the list's next version, whole or not at
    all, and screen every client against it once the import commits."""
    if list_code not in PARSERS:
        raise DomainError(f"no list {list_code!r}: the lists are {', '.join(PARSERS)}")
    parsed = PARSERS[list_code](data, source=source)  # raises ListFileRefused, storing nothing
    sha256 = hashlib.sha256(data).hexdigest()
    version = _version_store(list_code=list_code, parsed=parsed, source=source,
                             sha256=sha256, actor=actor)  # fmt: skip
    return version


@audited_atomic()
def _version_store(
    *, list_code: str, parsed: ParsedList, source: str, sha256: str, actor
) -> ListVersion:
    screening_list, _ = ScreeningList.objects.get_or_create(
        code=list_code, defaults={"name": ScreeningList.Code(list_code).label}
    )
    # The list's row is the lock that numbers its versions one at a time.
    screening_list = ScreeningList.objects.select_for_update(of=("self",)).get(pk=screening_list.pk)
    twin = ListVersion.objects.filter(screening_list=screening_list, sha256=sha256).first()
    if twin is not None:
        raise ListAlreadyImported(
            f"{source}: this file (sha256 {sha256[:12]}...) is already {twin}, imported "
            f"{twin.imported_at:%d %b %Y %H:%M} UTC; nothing was imported."
        )
    last = screening_list.versions.aggregate(n=Max("number"))["n"] or 0
    version = ListVersion.objects.create(
        screening_list=screening_list, number=last + 1, source=source[:255], sha256=sha256,
        generated_at=parsed.generated_at, entry_count=len(parsed.entries),
        imported_by=_actor_name(actor),
    )  # fmt: skip
    ListEntry.objects.bulk_create(
        [
            ListEntry(
                version=version,
                key=e.key,
                digest=e.digest,
                kind=e.kind,
                reference=e.reference,
                name=e.name[:300],
                aliases=e.aliases,
                dates_of_birth=e.dates_of_birth,
                nationalities=e.nationalities,
                list_type=e.list_type[:120],
                listed_on=e.listed_on,
                detail=e.detail,
                line=e.line,
            )
            for e in parsed.entries
        ],
        batch_size=BATCH,
    )
    audit_record(
        action="screening.list_imported",
        obj=version,
        actor=actor,
        after={
            "list": list_code,
            "version": version.number,
            "source": version.source,
            "sha256": sha256,
            "entries": version.entry_count,
        },
    )
    from compliance.tasks import screening_rescreen

    transaction.on_commit(partial(screening_rescreen.delay, version.pk))
    return version


def _hit_raise(*, client: Client, entry: ListEntry, found: Match) -> ScreeningHit | None:
    """Raise one hit unless an earlier one suppresses it; None when suppressed."""
    if hits_suppressed(client=client, entry=entry) is not None:
        return None
    try:
        with audited_atomic():
            hit = ScreeningHit.objects.create(
                client=client, entry=entry, version_id=entry.version_id, entry_key=entry.key,
                entry_digest=entry.digest, score=Decimal(str(found.score)),
                evidence=found.evidence,
            )  # fmt: skip
            audit_record(
                action="screening.hit_raised",
                obj=hit,
                after={
                    "client": client.pk,
                    "entry": entry.key,
                    "version": entry.version_id,
                    "score": str(hit.score),
                },
            )
    except IntegrityError:  # raised meanwhile by another screening: the open one stands
        return None
    return hit


def _screen(client: Client, screener: Screener) -> list[ScreeningHit]:
    subject = screening_subject(client=client)
    found = screener.screen(
        name=subject.name, date_of_birth=subject.date_of_birth, nationality=subject.nationality
    )
    if not found:
        return []
    entries = ListEntry.objects.in_bulk([entry_id for entry_id, _ in found])
    raised = [_hit_raise(client=client, entry=entries[i], found=m) for i, m in found]
    return [hit for hit in raised if hit is not None]


def client_screen(*, client: Client, versions: Iterable[ListVersion] | None = None):
    """Screen one client (at onboarding) against the current version of every list, or
    against ``versions``; return the hits raised (none for pairs disposed already)."""
    chosen = list(versions) if versions is not None else list_versions_current()
    screener = Screener(screening_candidates(versions=chosen))
    return _screen(client, screener)


def screening_rescreen(*, version: ListVersion, job=None) -> dict[str, int]:
    """Screen every client against ``version`` (a new list version). Safe to run twice:
    a pair already raised or disposed is not raised again."""
    screener = Screener(screening_candidates(versions=[version]))
    clients = clients_for_screening()
    if job is not None:
        job.set_total(clients.count())
    screened = raised = 0
    for client in clients.iterator(chunk_size=BATCH):
        raised += len(_screen(client, screener))
        screened += 1
        if job is not None:
            job.advance(1, message=f"{raised} hit(s)")
    return {"version": version.pk, "clients": screened, "hits": raised}


def screening_hit_dispose(
    *, hit: ScreeningHit, disposition: str, reason: str, actor: AbstractBaseUser
) -> ScreeningHit:
    """Dispose an open hit. A true match suspends every active trading account of the
    client and opens a case on it; a false positive keeps its reason.
    One transaction, audited; the actor needs ``compliance.screen_aml``."""
    if not actor.has_perm(SCREEN_AML):
        raise DispositionRefused(f"{actor.get_username()} may not dispose screening hits")
    reason = (reason or "").strip()
    if disposition not in (HitStatus.TRUE_MATCH, HitStatus.FALSE_POSITIVE):
        raise DispositionRefused(
            f"{disposition!r} is not a disposition: true_match or false_positive"
        )
    if not reason:
        raise DispositionRefused("Give the reason for the disposition (it is kept and audited).")
    from orders import locks
    from orders.selectors import accounts_of_client
    from orders.services import account_suspend

    with audited_atomic():
        # Locks in orders.locks' order: the client's accounts, then the hit; the audit
        # chains last (the suspensions' own, then the firm's for the disposition).
        accounts = []
        if disposition == HitStatus.TRUE_MATCH:
            accounts = locks.accounts(a.pk for a in accounts_of_client(client_id=hit.client_id))
        hit = ScreeningHit.objects.select_for_update(of=("self",)).get(pk=hit.pk)
        if hit.status != HitStatus.OPEN:
            raise DispositionRefused(
                f"Hit {hit.pk} is already disposed ({hit.get_status_display()}); nothing changed."
            )
        suspended = []
        for account in accounts:
            if account.status == account.Status.ACTIVE:
                account_suspend(
                    account=account, reason=f"AML true match (screening hit {hit.pk})",
                    actor=actor,
                )  # fmt: skip
                suspended.append(account.code)
        hit.status = disposition
        hit.reason = reason
        hit.disposed_at = timezone.now()
        hit.disposed_by = actor
        hit.case_required = disposition == HitStatus.TRUE_MATCH
        hit.accounts_suspended = suspended
        hit.save(update_fields=["status", "reason", "disposed_at", "disposed_by",
                                "case_required", "accounts_suspended"])  # fmt: skip
        audit_record(
            action=f"screening.hit_{disposition}",
            obj=hit,
            actor=actor,
            before={"status": HitStatus.OPEN},
            after={
                "status": disposition,
                "reason": reason,
                "client": hit.client_id,
                "entry": hit.entry_key,
                "accounts_suspended": suspended,
                "case_required": hit.case_required,
            },
        )
        if hit.case_required:
            from compliance.cases.services import case_open

            case_open(
                title=f"AML true match: {hit.client.name} listed as {hit.entry.name}",
                actor=None, client_id=hit.client_id, screening_hit=hit,
            )  # fmt: skip
    return hit


def screening_hits_assign(
    *, hits: Iterable[ScreeningHit], assignee: AbstractBaseUser, actor: AbstractBaseUser
) -> int:
    """Assign open hits to an officer who may work them; each assignment audited. Returns
    how many changed (a hit already theirs, or disposed, is left as it is)."""
    return queue_assign(
        items=ScreeningHit.objects.filter(pk__in=[h.pk for h in hits], status=HitStatus.OPEN),
        assignee=assignee, actor=actor, perm=SCREEN_AML, action="screening.hit_assigned",
        refused=DispositionRefused,
    )  # fmt: skip


def match_rule_update(
    *, rule: MatchRule, changes: dict[str, Decimal], actor: AbstractBaseUser
) -> MatchRule:
    """Change a match rule's threshold or weights, audited with before and after."""
    unknown = set(changes) - set(WEIGHT_FIELDS)
    if unknown:
        raise DomainError(f"not a weight of a match rule: {', '.join(sorted(unknown))}")
    with audited_atomic():
        rule = MatchRule.objects.select_for_update(of=("self",)).get(pk=rule.pk)
        before = {f: str(getattr(rule, f)) for f in changes}
        for name, value in changes.items():
            setattr(rule, name, value)
        rule.full_clean()
        rule.save()
        audit_record(
            action="screening.match_rule_changed",
            obj=rule,
            actor=actor,
            before=before,
            after={f: str(getattr(rule, f)) for f in changes},
        )
    return rule


def match_rule_default_ensure(*, apps=None, using: str = "default") -> bool:
    """Make the default match rule from ``data/match_rule_default.json`` if there is none
    (after every migrate, like the roles); an existing rule is never touched. True if made."""
    model = apps.get_model("compliance", "MatchRule") if apps is not None else MatchRule
    if model.objects.using(using).filter(list_code="").exists():
        return False
    values = json.loads(DEFAULT_RULE_FILE.read_text(encoding="utf-8"))
    fields = {name: Decimal(values[name]) for name in WEIGHT_FIELDS}
    _, made = model.objects.using(using).get_or_create(list_code="", defaults=fields)
    return made
