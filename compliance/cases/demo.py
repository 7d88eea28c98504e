"""Demo data of cases, from the alerts the surveillance (and monitoring) demos raised:

- the circular-trading alert worked all the way: opened, reviewed and escalated by
  ``compliance``, its STR drafted and proposed, filed by ``compliance2`` (an STR to
  download);
- the wash-trade alert in a case under review by ``compliance``, for the officer to take
  on to an STR in the admin (escalate, draft, propose; then ``compliance2`` approves);

every other alert is left open in its queue. A second run changes nothing.
"""

from django.contrib.auth import get_user_model

from compliance.alerts.models import Alert
from compliance.cases.models import Case
from compliance.cases.services import (
    case_close_approve,
    case_close_request,
    case_move,
    case_note_add,
    case_open,
    str_draft,
)

FILED = "Demo: circular trading among the Mehta group"
UNDER_REVIEW = "Demo: Vikram Mehta's self trades"


def _alert(code: str) -> Alert | None:
    return Alert.objects.filter(rule__code=code, status=Alert.Status.OPEN).order_by("pk").first()


def seed(*, stdout, reset_passwords: bool = False) -> None:
    users = get_user_model().objects
    officer, second = (
        users.filter(username="compliance").first(),
        users.filter(username="compliance2").first(),
    )
    if officer is None or second is None:
        stdout.write("Cases demo: no demo compliance officers (ops.demo seeds them first).")
        return
    made = []
    circular = _alert("circular_trading")
    if not Case.objects.filter(title=FILED).exists() and circular is not None:
        case = case_open(title=FILED, actor=officer, alerts=[circular])
        case = case_move(case=case, move="review", actor=officer)
        case_note_add(
            case=case, actor=officer,
            body="Shares went Vikram -> Sunita -> Mehta Holdings and back at one price within "
            "minutes; no change of beneficial ownership.",
        )  # fmt: skip
        case = case_move(case=case, move="escalate", actor=officer, reason="circular, no rationale")
        str_draft(
            case=case, actor=officer, categories=["market_abuse", "multiple_accounts"],
            grounds="The three accounts of the Mehta family group traded the same shares in a "
            "circle at matching prices within minutes, with no change of beneficial ownership "
            "and no economic rationale: an apparent attempt to create artificial volume.",
            action_taken="Accounts placed under enhanced monitoring.",
        )  # fmt: skip
        case = case_close_request(
            case=case, actor=officer, outcome="str_filed", reason="grounds are made out"
        )
        case_close_approve(case=case, actor=second)
        made.append("one filed as an STR")
    wash = _alert("wash_trade")
    if not Case.objects.filter(title=UNDER_REVIEW).exists() and wash is not None:
        case = case_open(title=UNDER_REVIEW, actor=officer, alerts=[wash])
        case_move(case=case, move="review", actor=officer)
        made.append("one under review")
    if made:
        stdout.write(f"Cases demo: {', '.join(made)}.")
    elif Case.objects.filter(title__in=[FILED, UNDER_REVIEW]).exists():
        stdout.write("Cases demo: already seeded.")
    else:
        stdout.write("Cases demo: no surveillance alerts to work (none were planted).")
