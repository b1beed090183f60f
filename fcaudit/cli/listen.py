"""`fcaudit listen`: receive Stripe's webhooks and announce each category change at once."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from types import FrameType
from typing import Any

import click

from fcaudit.cli.options import stripe_options
from fcaudit.errors import ExitCode, UsageError
from fcaudit.options import StripeOptions, is_loopback
from fcaudit.text import safe


@click.command()
@click.option(
    "--state",
    "state_path",
    required=True,
    metavar="FILE",
    help="The store `scan --state` keeps; events are journaled in FILE.journal beside it, "
    "and the next scan merges them.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Keep the loopback default behind a reverse proxy that "
    "terminates TLS; 0.0.0.0 only if you mean it.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--path", "url_path", default="/webhook", show_default=True, metavar="PATH")
@click.option(
    "--exec",
    "command",
    metavar="CMD",
    help="Run CMD (with /bin/sh) once per category change, the finding as JSON on stdin.",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    metavar="N",
    help="Deliveries handled at once; more wait to be accepted.",
)
@stripe_options
def listen(
    state_path: str,
    host: str,
    port: int,
    url_path: str,
    command: str | None,
    max_in_flight: int,
    stripe: StripeOptions,
) -> ExitCode:
    """Receive Stripe's webhooks: each category change is one NDJSON line on stdout at once.

    The signing secret comes from STRIPE_WEBHOOK_SECRET (several, comma-separated, while you
    roll it). Each delivery's Stripe-Signature is checked by stripe-python with a 300 s
    tolerance; an event is answered 2xx only once it is on disk in FILE.journal, so Stripe
    retries whatever was not recorded. A replayed event changes nothing. A thin event's
    object is fetched with a GET (STRIPE_API_KEY needed). The line is the finding record of
    `scan -f ndjson`, with event_id, event_type and change. SIGTERM or Ctrl-C stops
    accepting and lets deliveries in flight finish. Status lines go to stderr.

    \b
    Examples:
      STRIPE_WEBHOOK_SECRET=whsec_... fcaudit listen --state /var/lib/fcaudit/fc.db
      stripe listen --forward-to localhost:8765/webhook     # a local trial
      fcaudit listen --state fc.db --exec 'notify-oncall "$(jq -r .recommendation)"'
    """
    from fcaudit.listen.receive import Batcher, Receiver
    from fcaudit.listen.server import Announcer, ListenServer, log
    from fcaudit.sources.journal import Journal
    from fcaudit.stripe.signature import SECRET_ENV, secrets_from

    secrets = secrets_from(os.environ.get(SECRET_ENV))
    if not secrets:
        raise UsageError(
            f"no webhook signing secret. Tip: set {SECRET_ENV} to the endpoint's secret "
            "(whsec_...; `stripe listen` prints one), several comma-separated while rolling it."
        )
    if not url_path.startswith("/") or len(url_path) > 200:
        raise UsageError(f"--path {safe(url_path)} must start with '/'.")
    folder = os.path.dirname(os.path.abspath(state_path))
    if not os.path.isdir(folder):
        raise UsageError(
            f"--state {safe(state_path)}: the directory {safe(folder)} does not exist. Tip: "
            "create it, or give a --state path in an existing directory."
        )
    app = app_for_listen()
    err = app.err
    try:
        journal = Journal(state_path)
    except Exception as exc:
        raise UsageError(
            f"--state {safe(state_path)}: cannot open its journal {safe(state_path)}.journal "
            f"({exc}). Tip: the directory must be writable by this user."
        ) from None
    with contextlib.ExitStack() as stack:
        resolve = None
        if stripe.api_key or stripe.sandbox or stripe.api_base:
            gateway = stack.enter_context(app.gateway(stripe))
            resolve = resolver(gateway)
        batcher = Batcher(journal, app.clock)
        announcer = Announcer(app.out, err, command)
        receiver = Receiver(secrets, batcher, resolve, clock=app.clock)
        try:
            server = ListenServer(
                (host, port), receiver, announcer, path=url_path, concurrency=max_in_flight, err=err
            )
        except OSError as exc:
            batcher.close()
            announcer.close()
            what = "is in use" if exc.errno == errno.EADDRINUSE else f"failed ({exc.strerror})"
            raise UsageError(
                f"cannot listen on {safe(host)} port {port}: it {what}. Tip: pick another --port."
            ) from None
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        where = f"http://{bound_host}:{bound_port}{url_path}"
        if not is_loopback(str(bound_host)):
            log(err, f"listening on {bound_host}: reachable from other machines")
        stopped = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stopped.set()

        # In place before "serving on": a SIGTERM from then on lets deliveries finish.
        previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
        thread = server.serve_in_thread()
        log(err, f"serving on {where} (journal {journal.path}); SIGTERM stops")
        try:
            while not stopped.wait(0.5):
                pass
            log(err, "stopping: answering the deliveries in flight")
            server.stop()
            thread.join()
        finally:
            batcher.close()
            announcer.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if receiver.ignored_types:
            shown = ", ".join(sorted(receiver.ignored_types)[:10])
            log(err, f"ignored events not about FC accounts: {shown}")
        log(err, "stopped")
    return ExitCode.OK


def app_for_listen() -> Any:
    """The AppContext (tests put their own on ctx.obj)."""
    from fcaudit.app import AppContext

    ctx = click.get_current_context()
    app = ctx.find_object(AppContext)
    return app if app is not None else ctx.ensure_object(AppContext)


def resolver(gateway: Any) -> Any:
    """Fetches a thin event's object; any failure (the request, the key, --max-requests) is a
    LookupError, so the delivery is answered 503 and Stripe retries it."""
    from fcaudit.errors import FcauditError
    from fcaudit.stripe.failures import Cancelled, RequestFailed
    from fcaudit.stripe.ids import AUTHORIZATION_OBJECT

    def resolve(kind: str, oid: str, account: str | None) -> dict[str, Any]:
        fetch = (
            gateway.fetch_authorization if kind == AUTHORIZATION_OBJECT else gateway.fetch_account
        )
        try:
            return dict(fetch(oid, stripe_account=account)[0])
        except RequestFailed as err:
            raise LookupError(f"GET {oid} failed: {err.message}") from None
        except FcauditError as err:  # the key was rejected (AuthError)
            raise LookupError(f"GET {oid} failed: {str(err).split(' Tip:')[0]}") from None
        except Cancelled:
            raise LookupError(f"GET {oid} not sent: --max-requests was spent") from None

    return resolve
