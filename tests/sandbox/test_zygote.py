"""Warm zygotes are kept at most MAX_WARM at once, and one evicted while a submission still uses
it goes on until that submission ends (stopping a zygote ends every sandbox forked from it)."""
import pytest

from autograder.sandbox import isolation as sandbox
from autograder.sandbox import zygote


@pytest.fixture
def zygotes(monkeypatch):
    if not zygote.enabled(sandbox.probe("auto")):
        pytest.skip("zygotes serve the bwrap+uid level only")
    zygote.stop_all()
    monkeypatch.setattr(zygote, "MAX_WARM", 1)
    yield
    zygote.stop_all()


@pytest.mark.xdist_group("zygotes")
def test_an_evicted_zygote_in_use_lives_until_its_submission_ends(zygotes):
    first = zygote.acquire(["json"], [])
    assert first is not None, zygote.BROKEN
    second = zygote.acquire(["csv"], [])  # evicts the first, which is still in use
    assert second is not None and second is not first
    assert first.retired and first.alive(), "a zygote in use must not be stopped"
    zygote.release(first)
    assert not first.alive(), "the retired zygote stops when its last submission ends"
    zygote.release(second)
    assert second.alive(), "the one in the cache stays warm for the next submission"


@pytest.mark.xdist_group("zygotes")
def test_an_unused_zygote_is_stopped_when_evicted(zygotes):
    first = zygote.acquire(["json"], [])
    zygote.release(first)
    second = zygote.acquire(["csv"], [])
    assert not first.alive()
    zygote.release(second)
