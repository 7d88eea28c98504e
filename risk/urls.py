"""Risk endpoints, mounted under /api/v1/."""

from django.urls import path

from risk import api

urlpatterns = [
    path("risk/limits", api.LimitList.as_view(), name="risk-limits"),
    path("risk/limit-changes", api.ChangeListCreate.as_view(), name="risk-limit-changes"),
    path(
        "risk/limit-changes/<int:pk>/approve",
        api.ChangeDecide.as_view(),
        name="risk-limit-change-approve",
    ),
    path(
        "risk/limit-changes/<int:pk>/reject",
        api.ChangeReject.as_view(),
        name="risk-limit-change-reject",
    ),
    path("risk/kill-switches", api.SwitchListTrip.as_view(), name="risk-kill-switches"),
    path(
        "risk/kill-switches/<int:pk>/reset",
        api.SwitchReset.as_view(),
        name="risk-kill-switch-reset",
    ),
    path("risk/what-if", api.WhatIf.as_view(), name="risk-what-if"),
    path("risk/position-size", api.Sizing.as_view(), name="risk-position-size"),
    path("risk/accounts/<str:code>", api.RiskSnapshotView.as_view(), name="risk-account"),
]
