"""Linked client groups: clients the desk knows act together (family, common director,
shared address or bank account), watched as one party for wash and circular trading."""

from django.db import models


class ClientGroup(models.Model):
    """A set of clients surveillance treats as one party."""

    class Relation(models.TextChoices):
        FAMILY = "family", "Family"
        COMMON_DIRECTOR = "common_director", "Common director or promoter"
        SHARED_CONTACT = "shared_contact", "Shared address, mobile or email"
        SHARED_BANK = "shared_bank", "Shared bank account"
        OTHER = "other", "Other (see note)"

    name = models.CharField(max_length=120, unique=True)
    relation = models.CharField(max_length=20, choices=Relation.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClientLink(models.Model):
    """One client's membership of a linked group."""

    group = models.ForeignKey(ClientGroup, on_delete=models.CASCADE, related_name="links")
    client = models.ForeignKey(
        "compliance.Client", on_delete=models.PROTECT, related_name="surveillance_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "client"], name="client_link_once_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.client} in {self.group}"
