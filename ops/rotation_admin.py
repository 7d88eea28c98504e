"""Admin page that rotates secrets, with a dry run (for holders of ``ops.rotate_secrets``).

It shows each step's plan on a dry run and each step's result on a run: statuses,
versions and reasons, never a secret value.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from ops.rotation import STEPS, RotationBusy, secrets_rotate

ROTATE_SECRETS = "ops.rotate_secrets"
STEP_LABELS = {
    "postgres": "PostgreSQL role password",
    "redis": "Redis ACL password",
    "secret_key": "Django SECRET_KEY (old key kept as a fallback)",
    "field_key": "Field-encryption key (re-encrypts every value)",
    "api_keys": "Expired API keys",
}
ACTIONS = {"dry_run": True, "rotate": False}


def rotate_secrets_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(ROTATE_SECRETS):
        raise PermissionDenied
    selected = request.POST.getlist("step") if request.method == "POST" else list(STEPS)
    context = {
        **admin.site.each_context(request),
        "title": "Rotate secrets",
        "steps": [(name, STEP_LABELS[name], name in selected) for name in STEPS],
        "drop_old_keys": request.POST.get("drop_old_keys") == "on",
        "results": None,
        "error": "",
    }
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action not in ACTIONS:
                raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
            context["results"] = secrets_rotate(
                only=selected, dry_run=ACTIONS[action], actor=request.user,
                drop_old_keys=context["drop_old_keys"],
            )  # fmt: skip
            context["dry_run"] = ACTIONS[action]
        except ValueError as exc:
            context["error"], status = str(exc), 400
        except RotationBusy as exc:
            context["error"], status = str(exc), 409
    return TemplateResponse(request, "admin/ops/rotate_secrets.html", context, status=status)
