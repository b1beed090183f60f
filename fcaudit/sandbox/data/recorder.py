"""The bookkeeping under a build: unique ids, the calendar, the events recorded inside the
retention window, and, once every holder is generated, the data set's indexes in API list order
and the event history's truth."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fcaudit.sandbox.data.constants import ALNUM, DAY, GA_EVENT_VERSION, INACTIVE_UNKNOWN
from fcaudit.sandbox.data.records import AccountSpec, AuthorizationSpec
from fcaudit.sandbox.data.rendering import render_account, render_authorization
from fcaudit.stripe.facts import EVENT_RETENTION_DAYS, PREVIEW_VERSION

if TYPE_CHECKING:
    from fcaudit.sandbox.data.dataset import Dataset


class Recorder:
    """What :class:`~fcaudit.sandbox.data.builder.Builder` generates, kept in order: unique ids,
    the calendar, the events inside the retention window with the labels their truth needs, and
    at the end the data set's indexes and event truth (:meth:`finish`)."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.now = ds.now_ts
        self.window_start = self.now - EVENT_RETENTION_DAYS * DAY
        self._ids: set[str] = set()
        self._raw_events: list[tuple[int, str, dict[str, Any]]] = []
        # event id -> (object id, snapshot category or None for the object's own, snapshot
        # status, rendered in a preview version); events of other objects are only counted.
        self._labels: dict[str, tuple[str, str | None, str, bool]] = {}
        midnight = datetime.combine(ds.now.astimezone(UTC).date(), datetime.min.time(), UTC)
        self._noon = int(midnight.timestamp()) + DAY // 2

    # -- helpers ---------------------------------------------------------------------------------
    def rid(self, rng: random.Random, prefix: str, n: int = 14) -> str:
        """A new id, ``prefix`` and ``n`` characters drawn from ``rng``, unique in the build."""
        new = prefix + "".join(rng.choices(ALNUM, k=n))
        if new in self._ids:  # pragma: no cover - 62**14 makes this practically impossible
            raise RuntimeError(f"duplicate generated id {new}")
        self._ids.add(new)
        return new

    def noon(self, days: int) -> int:
        """Noon UTC, ``days`` calendar days after ``now``'s date."""
        return self._noon + days * DAY

    def event(
        self,
        rng: random.Random,
        etype: str,
        created: float,
        obj: AccountSpec | AuthorizationSpec,
        *,
        status: str | None = None,
        details: dict[str, Any] | bool | None = False,
        previous: dict[str, Any] | None = None,
        label: str | None = None,
        eid: str | None = None,
    ) -> None:
        """An event showing ``obj`` (``status``/``details`` override its state); ``label`` is
        that snapshot's category when it is not the object's own."""
        ts = int(created)
        if not self.window_start < ts <= self.now:
            return
        # Most events were rendered in a preview version; about one in ten in a GA version,
        # so its data.object lacks the preview-only fields (reference doc §0.9).
        preview = rng.random() >= 0.1
        if isinstance(obj, AccountSpec):
            payload = render_account(obj, preview=preview, status=status, details=details)
        else:
            payload = render_authorization(obj, preview=preview)
        evt = self._emit(rng, etype, ts, payload, preview, previous, eid)
        shown = status if status is not None else obj.status
        self._labels[str(evt["id"])] = (obj.id, label, shown, preview)

    def other_event(
        self, rng: random.Random, etype: str, created: float, payload: dict[str, Any]
    ) -> None:
        """An event whose data.object is not an FC account or authorization."""
        ts = int(created)
        if self.window_start < ts <= self.now:
            self._emit(rng, etype, ts, payload, rng.random() >= 0.1, None, None)

    def _emit(
        self,
        rng: random.Random,
        etype: str,
        ts: int,
        payload: dict[str, Any],
        preview: bool,
        previous: dict[str, Any] | None,
        eid: str | None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": payload}
        if previous is not None:
            data["previous_attributes"] = previous
        evt = {
            "id": eid or self.rid(rng, "evt_", 24),
            "object": "event",
            "api_version": PREVIEW_VERSION if preview else GA_EVENT_VERSION,
            "created": ts,
            "data": data,
            "livemode": False,
            "pending_webhooks": rng.choice((0, 0, 1)),
            "request": {"id": None, "idempotency_key": None},
            "type": etype,
        }
        self._raw_events.append((ts, str(evt["id"]), evt))
        return evt

    # -- finishing -------------------------------------------------------------------------------
    def finish(self) -> None:
        """Once every holder is generated: the lists in API order (newest first), the events
        newest first, and each FC object's category from its latest event."""
        ds = self.ds

        def newest_first(ids: list[str]) -> None:
            ids.sort(key=lambda a: (ds.account_specs[a].created, a), reverse=True)

        for spec in ds.account_specs.values():
            ds._by_holder.setdefault(spec.holder_id, []).append(spec.id)
            if spec.session is not None:
                ds._by_session.setdefault(spec.session, []).append(spec.id)
        for ids in (*ds._by_holder.values(), *ds._by_session.values()):
            newest_first(ids)
        ds.account_ids = list(ds.account_specs)
        newest_first(ds.account_ids)
        ds.account_position = {a: i for i, a in enumerate(ds.account_ids)}
        ds.authorization_ids = sorted(ds.authorization_specs)
        ds.customer_ids.sort(key=lambda c: (ds.customer_specs[c].created, c), reverse=True)
        ds.customer_position = {c: i for i, c in enumerate(ds.customer_ids)}
        self._raw_events.sort(key=lambda e: (e[0], e[1]), reverse=True)
        ds.events = [e for _, _, e in self._raw_events]
        # Each FC object's latest event (by created, then id: the list is newest first).
        latest: dict[str, str] = {}
        for _, eid, _evt in self._raw_events:
            if eid not in self._labels:
                ds.events_skipped += 1
                continue
            object_id, label, shown, preview = self._labels[eid]
            if object_id in latest:
                continue
            if label is None:
                own = ds.expected_category.get(object_id)
                label = own if own is not None else ds.expected_authorization_category[object_id]
            if not preview and shown == "inactive" and object_id in ds.account_specs:
                label = INACTIVE_UNKNOWN  # a GA version hides status_details.inactive
            latest[object_id] = label
        ds.expected_event_category = latest
