"""streams.engines.faust.fixes: installed on the Faust they were proven on, refused on any other."""

from __future__ import annotations

import pytest
from faust.tables.recovery import Recovery
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from foundation.exceptions import ConfigurationError
from streams.engines.faust import fixes as faust_fixes


def test_the_fixes_replace_faust_s_methods() -> None:
    faust_fixes.apply_faust_fixes()

    assert AIOKafkaConsumerThread._highwaters is faust_fixes._committed_highwaters  # noqa: SLF001 - the point: the fixes replaced Faust's methods
    assert Recovery._resume_streams is faust_fixes._resume_streams  # noqa: SLF001 - the point: the fixes replaced Faust's methods
    assert Recovery.on_recovery_completed is faust_fixes._on_recovery_completed  # noqa: SLF001 - the point: the fixes replaced Faust's methods
    assert TransactionManager.commit is faust_fixes._commit_unless_stopped  # noqa: SLF001 - the point: the fixes replaced Faust's methods


def test_another_faust_release_is_refused_until_the_fixes_are_read_against_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faust_fixes, "version", lambda _name: "0.16.0")

    with pytest.raises(ConfigurationError, match=r"written for faust-streaming 0\.15\.3") as caught:
        faust_fixes.apply_faust_fixes()

    assert caught.value.hint is not None
    assert "FIXED_FAUST_VERSION" in caught.value.hint
