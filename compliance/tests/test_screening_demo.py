"""The screening demo: one true and one false hit against demo clients, and a second run
changes nothing."""

import io

import pytest

from compliance.screening import demo
from compliance.screening.models import ListVersion, ScreeningHit


@pytest.mark.django_db
def test_demo_raises_one_true_and_one_false_hit_and_is_idempotent():
    demo.seed(stdout=io.StringIO())
    hits = {
        h.client.name: h.entry.key for h in ScreeningHit.objects.select_related("client", "entry")
    }
    assert hits == {"Mohd Rafiq Qureshi": "un:QDi.901", "Sanjay Verma": "pep:PEP-0001"}
    assert ListVersion.objects.count() == 2
    out = io.StringIO()
    demo.seed(stdout=out)
    assert ScreeningHit.objects.count() == 2
    assert ListVersion.objects.count() == 2
    assert "already imported" in out.getvalue()
