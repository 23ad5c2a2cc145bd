"""Fixtures for fetch tests: a feed farm holding one feed of every hazard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from monitor.config import FetchSettings
from testbed.farm import EXTRA_KINDS, HAZARDS, HEALTHY, Farm, FarmConfig
from tests.conftest import LOOPBACK

KINDS = (HEALTHY, *HAZARDS, *EXTRA_KINDS)


@pytest.fixture(scope="module")
def farm() -> Iterator[Farm]:
    """One feed of each kind, spread over three loopback hosts; fast drips."""
    with Farm(FarmConfig(kinds=KINDS, hosts=3, drip_interval=0.1, drip_seconds=10)) as running:
        yield running


def loopback_settings(**values: Any) -> FetchSettings:
    """Fetch settings that let the farm's loopback hosts through the SSRF guard."""
    return FetchSettings(allow_private=LOOPBACK, **values)


def url_of(farm: Farm, kind: str) -> str:
    return farm.url(farm.indices(kind)[0])
