"""Which Freshservice the sync uses: the settings, unless a demo process hands over its own."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from tickets.freshservice_config import (
    FreshserviceConfig,
    freshservice_config,
    override_freshservice_config,
    publish_demo_config,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stand_in_config(fresh) -> FreshserviceConfig:
    return replace(
        FreshserviceConfig.from_settings(),
        api_key="stand-in-key",
        endpoint="http://127.0.0.1:9/api/v2/",
        ids_file="/tmp/demo-IDs.txt",
        demo=True,
    )


def test_it_is_read_from_the_settings_by_default(fresh):
    fresh.FRESH_CLOSED_STATUSES = [4, 5, 6]

    config = freshservice_config()

    assert config.api_key == fresh.FRESH_API
    assert config.endpoint == fresh.FRESH_ENDPOINT
    assert config.group_id == fresh.FRESH_GROUP_ID
    assert config.closed_statuses == (4, 5, 6)
    assert (config.timeout, config.max_wait) == (30, 120)
    assert config.demo is False
    assert fresh.FRESH_API not in repr(config)


def test_an_override_holds_in_every_thread_until_its_block_ends(fresh, stand_in_config):
    seen: list[FreshserviceConfig] = []

    with override_freshservice_config(stand_in_config):
        # As runserver's threads answer the dashboard's sync button in demo mode.
        thread = threading.Thread(target=lambda: seen.append(freshservice_config()))
        thread.start()
        thread.join()
        assert freshservice_config() == stand_in_config

    assert seen == [stand_in_config]
    assert freshservice_config() == FreshserviceConfig.from_settings()


def test_a_setting_changed_while_the_process_runs_is_read_again(fresh):
    assert freshservice_config().closed_statuses == (4, 5)

    fresh.FRESH_CLOSED_STATUSES = [5]

    assert freshservice_config().closed_statuses == (5,)


def test_without_a_key_a_demo_started_later_and_another_in_its_place_are_each_used(
    settings, tmp_path, stand_in_config
):
    # The configuration is made once per process, and a demo's state file read again only when
    # it is another file: the ETag of every API read asks for it.
    settings.FRESH_API = ""
    settings.DEMO_STATE_FILE = tmp_path / "demo.json"
    assert freshservice_config().demo is False

    with publish_demo_config(stand_in_config):
        assert freshservice_config() == stand_in_config
        moved = replace(stand_in_config, endpoint="http://127.0.0.1:10/api/v2/")
        with publish_demo_config(moved):
            assert freshservice_config() == moved

    assert freshservice_config().demo is False
