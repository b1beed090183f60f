"""The limiter with an injected clock: no test sleeps."""

from __future__ import annotations

import pytest

from fcaudit.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drive(limiter: RateLimiter, clock: FakeClock, endpoint: str, n: int) -> list[float]:
    """Send n requests as fast as the limiter allows; return their start times."""
    starts = []
    for _ in range(n):
        clock.now += limiter.reserve(endpoint)
        starts.append(clock.now)
    return starts


def test_global_rate_is_respected_after_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, None, clock=clock, burst_seconds=0.2)
    starts = drive(limiter, clock, "GET /a", 52)
    # 2 requests of burst, then one every 0.1 s: 50 more take 5 s.
    assert starts[-1] - starts[0] == pytest.approx(5.0)


def test_endpoint_rate_is_separate_per_endpoint() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 5, clock=clock, burst_seconds=0.2)
    a = [limiter.reserve("GET /a") for _ in range(6)]
    b = [limiter.reserve("GET /b") for _ in range(6)]
    assert a == pytest.approx(b)  # /b is not slowed by /a's traffic
    assert a[-1] == pytest.approx(1.0)  # the 6th request at 5/s waits 1 s


def test_both_levels_apply() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, 100, clock=clock, burst_seconds=0.25)
    waits = [limiter.reserve(f"GET /{i}") for i in range(5)]
    assert waits[-1] == pytest.approx(1.0)  # global 4/s binds though each endpoint is idle


def test_429_slows_down_and_success_recovers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 10, clock=clock)
    assert limiter.current_rps("GET /a") == pytest.approx(10)
    limiter.throttled("GET /a")
    limited = limiter.current_rps("GET /a")
    assert limited is not None and limited < 10
    assert limiter.current_rps("GET /b") == pytest.approx(10)  # other endpoints unaffected
    for _ in range(100):
        limiter.succeeded("GET /a")
    assert limiter.current_rps("GET /a") == pytest.approx(10)


def test_global_429_slows_the_global_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 10, clock=clock)
    limiter.throttled("GET /a", global_scope=True)
    rate = limiter.current_rps()
    assert rate is not None and rate < 20


def test_idle_time_does_not_bank_unlimited_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, None, clock=clock, burst_seconds=0.5)
    clock.now += 3600  # an hour idle
    waits = [limiter.reserve("GET /a") for _ in range(10)]
    assert sum(w == 0 for w in waits) == 5  # only the burst is free
