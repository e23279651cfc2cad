"""The sync lease on its manager: one holder at a time, and a crashed holder's lease expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tickets.models import SyncLease

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def lease() -> SyncLease:
    return SyncLease.objects.get(name="sync")


@time_machine.travel(NOW, tick=False)
def test_one_holder_at_a_time():
    assert SyncLease.objects.claim("first", TTL) is True
    assert SyncLease.objects.claim("second", TTL) is False

    assert (lease().holder, lease().expires_at) == ("first", NOW + TTL)


def test_an_expired_lease_can_be_claimed():
    with time_machine.travel(NOW, tick=False):
        SyncLease.objects.claim("crashed", TTL)
    with time_machine.travel(NOW + TTL + timedelta(seconds=1), tick=False):
        assert SyncLease.objects.claim("next", TTL) is True

    assert lease().holder == "next"


@time_machine.travel(NOW, tick=False)
def test_only_the_holder_renews_and_releases_it():
    SyncLease.objects.claim("mine", TTL)

    assert SyncLease.objects.renew("not-mine", TTL) is False
    SyncLease.objects.release("not-mine")
    assert lease().holder == "mine"

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert SyncLease.objects.renew("mine", TTL) is True
    assert lease().expires_at == NOW + timedelta(minutes=1) + TTL

    SyncLease.objects.release("mine")
    assert (lease().holder, lease().expires_at) == ("", None)


@time_machine.travel(NOW, tick=False)
def test_still_held_says_whether_the_holder_kept_it():
    SyncLease.objects.claim("mine", TTL)

    assert SyncLease.objects.still_held("mine") is True
    assert SyncLease.objects.still_held("other") is False


@time_machine.travel(NOW, tick=False)
def test_the_lease_row_is_made_again_if_it_went_missing():
    SyncLease.objects.all().delete()

    assert SyncLease.objects.claim("mine", TTL) is True
    assert lease().holder == "mine"
