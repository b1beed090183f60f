"""The limiter with an injected clock: no test sleeps."""

from __future__ import annotations

import contextlib
import threading

import pytest

from fcaudit.stripe.failures import Cancelled
from fcaudit.stripe.ratelimit import MIN_RPS, RECOVER_SECONDS, InFlight, RateLimiter, reason_of


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


def test_429_slows_down_and_time_recovers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 10, clock=clock)
    assert limiter.current_rps("GET /a") == pytest.approx(10)
    limiter.throttled("GET /a", "endpoint-rate")
    limited = limiter.current_rps("GET /a")
    assert limited is not None and limited < 10
    assert limiter.current_rps("GET /b") == pytest.approx(10)  # other endpoints unaffected
    # Successes alone don't bring the rate back (that made it overshoot again at once) ...
    for _ in range(100):
        limiter.succeeded("GET /a")
    assert limiter.current_rps("GET /a") == pytest.approx(limited)
    # ... time does: up to the remembered rate within seconds, then a slow probe above it.
    clock.now += 10
    recovered = limiter.current_rps("GET /a")
    assert recovered is not None and limited < recovered < 10
    clock.now += 600
    assert limiter.current_rps("GET /a") == pytest.approx(10)


def test_a_burst_of_429s_is_one_signal() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 10, clock=clock)
    limiter.throttled("GET /a", "endpoint-rate")
    once = limiter.current_rps("GET /a")
    for _ in range(5):  # answers to requests sent before the cut
        clock.now += 0.01
        limiter.throttled("GET /a", "endpoint-rate")
    assert limiter.current_rps("GET /a") == pytest.approx(once, rel=0.01)


def test_one_429_never_takes_more_than_three_quarters() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 20, clock=clock)
    limiter.throttled("GET /a", "endpoint-rate")  # no success seen: the delivered rate says nothing
    rate = limiter.current_rps("GET /a")
    assert rate is not None and rate >= 20 * 0.25 * 0.8 - 1e-9


class ServerBucket:
    """The server side: a token bucket holding one second of requests, like Stripe's."""

    def __init__(self, rate: float, clock: FakeClock) -> None:
        self.rate, self.clock = rate, clock
        self.tokens, self.last = rate, clock.now

    def allow(self) -> bool:
        now = self.clock.now
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def storm(server_rps: float, budget: float, seconds: float) -> tuple[list[float], int]:
    """One client sending as fast as its limiter allows against a slower server.

    Returns (times of the successful requests, number of 429s).
    """
    clock = FakeClock()
    start = clock.now
    limiter = RateLimiter(None, budget, clock=clock)
    server = ServerBucket(server_rps, clock)
    ok: list[float] = []
    throttled = 0
    while clock.now - start < seconds:
        clock.now += limiter.reserve("GET /a")
        if server.allow():
            limiter.succeeded("GET /a")
            ok.append(clock.now - start)
        else:
            throttled += 1
            limiter.throttled("GET /a", "endpoint-rate")
    return ok, throttled


@pytest.mark.parametrize(("server_rps", "budget"), [(5, 25), (10, 100), (20, 25), (3, 100)])
def test_a_429_storm_converges_to_the_servers_rate(server_rps: float, budget: float) -> None:
    ok, throttled = storm(server_rps, budget, seconds=120)
    settled = [t for t in ok if t >= 20]  # after the first seconds of finding the limit
    assert len(settled) / 100 >= 0.85 * server_rps  # near the server's rate ...
    assert throttled <= 0.1 * len(ok)  # ... with few 429s
    late = sum(1 for t in ok if t >= 60)
    assert late / 60 <= server_rps * 1.05  # never above what the server allows (plus burst)


def test_no_429s_means_the_full_budget() -> None:
    ok, throttled = storm(server_rps=50, budget=25, seconds=10)
    assert throttled == 0
    assert len(ok) == pytest.approx(25 * 10, abs=6)  # 25/s plus the burst


def test_global_429_slows_the_global_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 10, clock=clock)
    limiter.throttled("GET /a", "global-rate")
    rate = limiter.current_rps()
    assert rate is not None and rate < 20


def test_idle_time_does_not_bank_unlimited_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, None, clock=clock, burst_seconds=0.5)
    clock.now += 3600  # an hour idle
    waits = [limiter.reserve("GET /a") for _ in range(10)]
    assert sum(w == 0 for w in waits) == 5  # only the burst is free


@pytest.mark.parametrize(
    "reason",
    ["global-concurrency", "endpoint-concurrency", "resource-specific", "none"],
)
def test_a_429_that_is_not_about_the_rate_slows_no_rate(reason: str) -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 10, clock=clock)
    assert limiter.throttled("GET /a", reason) is False
    assert limiter.current_rps() == pytest.approx(20)
    assert limiter.current_rps("GET /a") == pytest.approx(10)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("global-rate", "global-rate"),
        (" Endpoint-Concurrency ", "endpoint-concurrency"),
        ("resource-specific", "resource-specific"),
        (None, "none"),
        ("", "none"),
        ("lock_timeout", "none"),  # not a reason Stripe sends: handled as a plain 429
    ],
)
def test_the_reason_header_is_read_as_one_of_stripes_reasons(
    header: str | None, reason: str
) -> None:
    assert reason_of(header) == reason


def test_the_floor_holds_after_any_number_of_cuts() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 10, clock=clock)
    for _ in range(200):  # a 429 after every cool-down, no success in between
        limiter.throttled("GET /a", "endpoint-rate")
        clock.now += 0.6
    rate = limiter.current_rps("GET /a")
    assert rate is not None and rate >= MIN_RPS


def test_a_concurrency_429_lowers_what_may_be_in_flight_to_what_was_served() -> None:
    clock = FakeClock()
    cancelled = threading.Event()
    flight = InFlight(8, clock=clock)
    with contextlib.ExitStack() as stack:
        for _ in range(3):  # the server was serving three when it refused a fourth
            stack.enter_context(flight.slot("GET /a", cancelled))
        assert flight.throttled("GET /a", "endpoint-concurrency") is True
    assert flight.allowed("GET /a") == 3
    assert flight.allowed() == 8  # the global limit is another one
    assert flight.allowed("GET /b") == 8
    clock.now += 0.1
    flight.throttled("GET /a", "endpoint-concurrency")  # an answer to a request sent before
    assert flight.allowed("GET /a") == 3
    clock.now += 2 * RECOVER_SECONDS  # then one more request per RECOVER_SECONDS
    assert flight.allowed("GET /a") == 5
    clock.now += 100 * RECOVER_SECONDS
    assert flight.allowed("GET /a") == 8
    assert flight.throttled("GET /a", "endpoint-rate") is False


def test_in_flight_never_drops_below_one_request() -> None:
    clock = FakeClock()
    flight = InFlight(4, clock=clock)
    for _ in range(20):
        flight.throttled("GET /a", "global-concurrency")
        clock.now += 0.6
    assert flight.allowed() == 1
    with flight.slot("GET /a", threading.Event()):
        pass  # one request still goes


def test_a_full_slot_waits_and_a_cancelled_run_stops_waiting() -> None:
    clock = FakeClock()
    flight = InFlight(1, clock=clock)
    cancelled = threading.Event()
    with flight.slot("GET /a", cancelled):
        cancelled.set()
        with pytest.raises(Cancelled), flight.slot("GET /b", cancelled):
            pass
