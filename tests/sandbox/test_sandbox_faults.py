"""Rate limiter and fault decisions, with a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from fcaudit.sandbox.faults import Cue, FaultConfig, FaultInjector, RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_allows_one_seconds_burst_then_refills() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, clock=clock)
    assert [bucket.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    clock.advance(0.2)  # one token back
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.advance(60)  # never more than the burst
    assert sum(bucket.try_acquire() for _ in range(10)) == 5


def test_fractional_rate_still_allows_one_request() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.5, clock=clock)
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.advance(1.0)
    assert bucket.try_acquire() is False
    clock.advance(1.0)
    assert bucket.try_acquire() is True


def test_clock_going_backwards_does_not_mint_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, clock=clock)
    assert bucket.try_acquire()
    clock.advance(-100)
    assert not bucket.try_acquire()


def test_bucket_rejects_non_positive_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


def test_endpoint_limits_are_independent_and_global_limit_is_shared() -> None:
    clock = FakeClock()
    limiter = RateLimiter(global_rate=3, endpoint_rate=2, clock=clock)
    assert [limiter.allow("GET /a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("GET /b") is True  # the third global token
    assert limiter.allow("GET /c") is False  # global bucket empty
    clock.advance(1)
    assert limiter.allow("GET /c") is True


def test_no_limits_allows_everything() -> None:
    limiter = RateLimiter()
    assert all(limiter.allow("GET /a") for _ in range(1000))


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        FaultConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="drop_rate"):
        FaultConfig(drop_rate=-0.1)
    with pytest.raises(ValueError, match="rate_limit"):
        FaultConfig(rate_limit=0)
    with pytest.raises(ValueError, match="latency_ms"):
        FaultConfig(latency_ms=-1)


def test_fault_decisions_are_seeded_and_roughly_proportional() -> None:
    def decisions(seed: int) -> list[tuple[bool, int | None]]:
        injector = FaultInjector(FaultConfig(error_rate=0.3, drop_rate=0.1, seed=seed))
        return [(injector.should_drop(), injector.error_status()) for _ in range(2000)]

    first = decisions(1)
    assert first == decisions(1)
    assert first != decisions(2)
    drops = sum(1 for drop, _ in first if drop)
    errors = [status for _, status in first if status is not None]
    assert 120 <= drops <= 280
    assert 480 <= len(errors) <= 720
    assert set(errors) == {500, 503}


def test_delay_is_latency_plus_bounded_jitter() -> None:
    injector = FaultInjector(FaultConfig(latency_ms=100, jitter_ms=50))
    delays = [injector.delay_seconds() for _ in range(500)]
    assert all(0.1 <= d <= 0.15 for d in delays)
    assert max(delays) - min(delays) > 0.03
    assert FaultInjector(FaultConfig()).delay_seconds() == 0.0


def test_no_faults_by_default() -> None:
    injector = FaultInjector(FaultConfig())
    assert not any(injector.should_drop() for _ in range(100))
    assert all(injector.error_status() is None for _ in range(100))
    assert all(injector.allow("GET /v1/customers") for _ in range(100))


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("stall:3", Cue("stall", 3)),
        ("503:2@/v1/customers", Cue("503", 2, "/v1/customers")),
        (" ok:1 @ /v1/events ", Cue("ok", 1, "/v1/events")),
    ],
)
def test_cues_parse_and_print(text: str, cue: Cue) -> None:
    assert Cue.parse(text) == cue
    assert Cue.parse(str(cue)) == cue


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stall", "KIND:COUNT"),
        ("stall:x", "KIND:COUNT"),
        ("teapot:1", "cue kind"),
        ("503:0", "at least 1"),
        ("503:1@customers", "/v1/"),
    ],
)
def test_bad_cues_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cue.parse(text)


def test_cues_apply_in_order_to_matching_requests() -> None:
    accounts = "/v1/financial_connections/accounts"
    injector = FaultInjector(
        FaultConfig(cues=(Cue("ok", 2, accounts), Cue("stall", 1, accounts), Cue("drop", 1)))
    )
    seen = [injector.cue(accounts, accounts) for _ in range(4)]
    assert seen == [None, None, "stall", "drop"]
    assert injector.cues_left() == []
    assert injector.cue("/v1/customers", "/v1/customers") is None


def test_cues_left_counts_down() -> None:
    injector = FaultInjector(FaultConfig(cues=(Cue("503", 2, "/v1/customers"), Cue("429", 1))))
    assert injector.cue("/v1/events", "/v1/events") == "429"  # the first cue is for another path
    assert injector.cue("/v1/customers", "/v1/customers") == "503"
    assert injector.cues_left() == ["503:1@/v1/customers"]
