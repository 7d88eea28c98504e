"""``django.contrib.admin`` with the two-factor back-office site as ``admin.site``.

Listed in INSTALLED_APPS in place of ``django.contrib.admin``. It lives apart from
``ops.apps`` (one AppConfig per module) and from ``ops.admin_site`` (which imports models,
not allowed while apps load).
"""

from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "ops.admin_site.BackOfficeAdminSite"
