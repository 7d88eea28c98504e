"""The password rules (AUTH_PASSWORD_VALIDATORS) hold where passwords are set in the admin:
adding a user and changing a user's password."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db
STRONG = "amber-lantern-quota-71"
WEAK = [
    ("Xy7#qz", "This password is too short. It must contain at least 12 characters."),
    ("password1234", "This password is too common."),
    ("804213579916", "This password is entirely numeric."),
    ("newclerk2026", "The password is too similar to the username."),
]


@pytest.fixture
def administrator(client, user_in_role, otp_login):
    otp_login(client, user_in_role("Administrator"))
    return client


@pytest.mark.parametrize(("password", "message"), WEAK, ids=[w[0] for w in WEAK])
def test_adding_a_user_with_a_weak_password_is_refused(administrator, password, message):
    page = administrator.post(
        "/admin/auth/user/add/",
        {"username": "newclerk", "usable_password": "true", "password1": password,
         "password2": password},
    )  # fmt: skip
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not get_user_model().objects.filter(username="newclerk").exists()


def test_adding_a_user_with_a_strong_password_works(administrator):
    done = administrator.post(
        "/admin/auth/user/add/",
        {"username": "newclerk", "usable_password": "true", "password1": STRONG,
         "password2": STRONG},
    )  # fmt: skip
    assert done.status_code == 302
    assert get_user_model().objects.get(username="newclerk").check_password(STRONG)


@pytest.mark.parametrize(("password", "message"), WEAK, ids=[w[0] for w in WEAK])
def test_changing_a_password_to_a_weak_one_is_refused(
    administrator, user_in_role, password, message
):
    clerk = user_in_role("Trader", username="newclerk")
    url = f"/admin/auth/user/{clerk.pk}/password/"
    page = administrator.post(url, {"password1": password, "password2": password})
    assert page.status_code == 200
    assert message in page.content.decode()
    clerk.refresh_from_db()
    assert clerk.check_password("not-a-real-password-1")
    assert administrator.post(url, {"password1": STRONG, "password2": STRONG}).status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password(STRONG)


def test_a_user_changing_their_own_password_gets_the_same_rules(client, user_in_role, otp_login):
    otp_login(client, user_in_role("Auditor"))
    page = client.post(
        "/admin/password_change/",
        {"old_password": "not-a-real-password-1", "new_password1": "short1",
         "new_password2": "short1"},
    )  # fmt: skip
    assert "This password is too short. It must contain at least 12 characters." in (
        page.content.decode()
    )
