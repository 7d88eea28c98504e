"""Helpers for work split over spawned processes (which start with no Django loaded).

Kept free of model imports, so a spawned process can import it before ``django.setup``.
"""


def django_setup() -> None:
    """A process pool's initializer: load settings and apps in the fresh process."""
    import django

    django.setup()
