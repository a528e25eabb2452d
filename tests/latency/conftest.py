"""Fixtures of the latency tests: ``cache``, a latency store and host lock of the test's own
(``$LIGHTVIZ_CACHE_DIR`` and ``$LIGHTVIZ_LOCK_DIR`` under its temporary directory), with the
store's in-process caches cleared before and after."""

from __future__ import annotations

import pytest

from lightviz.latency.predictor import store


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    store.clear_caches()
    yield tmp_path / "cache"
    store.clear_caches()
