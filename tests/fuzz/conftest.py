"""One running platform (nats-server and the four services) for the whole fuzz suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.platform import SERVICES, Platform, running_platform


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The four services on one nats-server, with a few records seeded through their APIs.

    When the suite is done, no service may have logged an unhandled error or a traceback,
    even one that did not show in an answer.
    """
    with running_platform(tmp_path_factory.mktemp("fuzz")) as running:
        yield running
        for service in SERVICES:
            log = running.log(service)
            assert b"unhandled error" not in log, log.decode(errors="replace")[-4000:]
            assert b"Traceback" not in log, log.decode(errors="replace")[-4000:]
