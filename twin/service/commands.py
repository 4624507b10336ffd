"""The one command path: every change to the twin is validated, recorded, applied, acknowledged.

Operator actions (:mod:`twin.actions` kinds), clock changes (pause, resume, speed) and alert
acknowledgements all take the same path, run in the live loop thread (the only writer), so
nothing can change between the check, the record and the apply:

0. the permission table (:func:`twin.service.permissions.may`): a role that may not submit
   this kind is refused with the code ``forbidden`` (audited and recorded like any refusal);
1. build the action from plain data when a dict arrives (unknown kinds or fields are refused);
2. check it against the live state; a refusal is written to the audit log and to the recording
   with result ``refused`` and the reason, and nothing changes;
3. compute ``before``/``after`` (for an operator action: by applying it to ``engine.fork()``);
4. write the audit row ``pending`` (the accountability log, with its own copy of the input and
   the recording's id), then the recording's input row carrying that audit id (the replay log);
   each returns only once it is on disk;
5. apply it, settle the audit row to ``ok`` and return a :class:`CommandResult` (the
   acknowledgement). A failed recording write settles the row ``not_recorded`` and raises (the
   caller answers 503); a failed settle leaves it ``pending``, settled at the next input or, after
   a crash, from the recording on resume (docs/recording-format.md, "Audit truth").

Two operators acting at once: the last writer wins, but when the value the operator saw
(``based_on``) is no longer the current value the result carries a ``warning`` naming who
changed it last (from the audit log).

Readers use :meth:`CommandPath.query` (named read-only queries, :mod:`twin.service.queries`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.actions import action_from_dict, action_to_dict
from twin.errors import ActionError
from twin.service.alarms import SHELVE_MAX_S
from twin.service.audit import AuditError, AuditFilter
from twin.service.permissions import INPUT_PERMISSIONS, OPERATOR_ACTIONS, may

if TYPE_CHECKING:
    from twin.engine import Action, Engine
    from twin.service.audit import AuditLog
    from twin.service.live import LiveTwin
    from twin.service.recorder import Recorder

__all__ = ["CommandPath", "CommandResult"]

log = logging.getLogger(__name__)

ACTION_PREFIX = "twin."
"""Audit ``action`` names of operator actions are ``twin.<kind>`` (``twin.set_signal_plan``);
clock changes are ``clock.pause``, ``clock.resume``, ``clock.speed``; acknowledgements
``alert.acknowledge``; shelving ``alert.shelve`` and ``alert.unshelve``."""


@dataclass(frozen=True)
class CommandResult:
    """What the caller is told: applied or refused (with the reason and its code), and any warning."""

    ok: bool
    kind: str
    target: str
    before: Any = None
    after: Any = None
    reason: str = ""
    warning: str = ""
    audit_id: int | None = None
    sim_time_s: float | None = None
    code: str = ""
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Command:
    """One input on its way through the path."""

    input_kind: str  # recording kind: action, clock, ack
    name: str  # action kind, pause/resume/speed, acknowledge
    audit_action: str
    payload: Any
    target: str
    check: Callable[[], tuple[Any, Any, str]]  # -> before, after, target; raises ActionError
    apply: Callable[[], Any]


class CommandPath:
    """Submit changes to ``live`` (a :class:`twin.service.live.LiveTwin`), writing each to ``audit``
    (the audit log) and to the live twin's recording (when it records) before applying it.

    ``sandbox=True`` is for a fork's headless twin (:func:`twin.service.replay.fork_day`): its
    inputs are the planner's what-ifs and the recorded day's own, attributed to their authors;
    the right to run a fork (``data:fork``) is checked where the fork is asked for, so the
    input permissions are not checked again there."""

    def __init__(
        self,
        live: LiveTwin,
        audit: AuditLog | None = None,
        *,
        timeout_s: float = 30.0,
        sandbox: bool = False,
    ) -> None:
        self.live = live
        self.audit = audit
        self.timeout_s = timeout_s
        self.sandbox = sandbox  # a fork's own headless twin: the right to run it was checked
        self._unsettled: dict[int, tuple[str, str]] = {}  # audit id -> outcome not yet written

    @property
    def recorder(self) -> Recorder | None:
        return self.live.recorder

    # ------------------------------------------------------------ the three kinds of input
    def submit(
        self, action: Action, *, user: str, role: str, based_on: Any = None, ip: str = ""
    ) -> CommandResult:
        """Check, record, apply an operator ``action`` (an action object or its dict form);
        never raises :class:`ActionError` (a refusal is a result with ``ok=False``)."""

        def build(engine: Engine) -> _Command:
            act = action if hasattr(action, "check") else action_from_dict(action)
            kind = getattr(act, "kind", type(act).__name__)

            def check() -> tuple[Any, Any, str]:
                act.check(engine)
                preview = engine.fork().apply(act)  # before/after without touching the live state
                return _plain(preview["before"]), _plain(preview["after"]), preview["target"]

            return _Command(
                "action",
                kind,
                ACTION_PREFIX + kind,
                _plain(action_to_dict(act)),
                _target(act),
                check,
                lambda: engine.apply(act),
            )

        kind = action.get("kind") if isinstance(action, dict) else getattr(action, "kind", None)
        return self._submit(build, str(kind or "unknown")[:60], user, role, ip, based_on)

    def clock(
        self, *, user: str, role: str, paused: Any = None, speed: Any = None, ip: str = ""
    ) -> CommandResult:
        """Pause or resume the clock, or set its speed (simulated seconds per wall second)."""
        live = self.live

        def build(engine: Engine) -> _Command:
            if live.mode == "live":
                raise ActionError(
                    "the live twin follows the clock: pause and speed apply to simulation runs only",
                    code="live_clock",
                )
            if paused is not None and not isinstance(paused, bool):
                raise ActionError(
                    f"paused must be true or false, got {_short(paused)}", code="bad_value"
                )
            if speed is not None and not _is_allowed_speed(speed, live.allowed_speeds()):
                allowed = ", ".join(f"×{s:g}" for s in live.allowed_speeds())
                raise ActionError(
                    f"speed must be one of {allowed}, got {_short(speed)}", code="out_of_range"
                )
            if (paused is None) == (speed is None):
                raise ActionError("a clock change sets either paused or speed", code="bad_value")
            name = "speed" if speed is not None else ("pause" if paused else "resume")
            before = {"paused": live.paused, "speed": live.speed}
            after = {
                "paused": live.paused if paused is None else paused,
                "speed": live.speed if speed is None else float(speed),
            }
            return _Command(
                "clock",
                name,
                f"clock.{name}",
                {
                    k: v
                    for k, v in after.items()
                    if k == ("speed" if speed is not None else "paused")
                },
                "clock",
                lambda: (before, after, "clock"),
                lambda: live.apply_clock(
                    paused=paused, speed=None if speed is None else float(speed), by=user
                ),
            )

        return self._submit(build, "clock", user, role, ip, None)

    def acknowledge(
        self, alert_id: Any, *, user: str, role: str, group: bool = False, ip: str = ""
    ) -> CommandResult:
        """Acknowledge the open alert ``alert_id`` (with ``group``, its whole flood group)."""
        book = self.live.alarm_book

        def build(engine: Engine) -> _Command:
            if isinstance(alert_id, bool) or not isinstance(alert_id, int):
                raise ActionError(
                    f"alert id must be a whole number, got {_short(alert_id)}", code="bad_value"
                )
            item = next((a for a in book.feed(engine.time_s) if a["id"] == alert_id), None)

            def check() -> tuple[Any, Any, str]:
                if item is None:
                    raise ActionError(
                        f"alert {alert_id} is not open (it may have cleared)", code="not_open"
                    )
                target = f"alert {alert_id}: {item['message']}"
                return (
                    {"acked": bool(item.get("acked"))},
                    {
                        "acked": True,
                        "kind": item["kind"] if group else None,
                        "severity": item.get("severity"),
                    },
                    target,
                )

            def apply() -> Any:
                return (
                    book.acknowledge_kind(item["kind"], user=user)
                    if group
                    else book.acknowledge(alert_id, user=user)
                )

            return _Command(
                "ack",
                "acknowledge",
                "alert.acknowledge",
                {"alert_id": alert_id, "group": bool(group)},
                f"alert {alert_id}",
                check,
                apply,
            )

        return self._submit(build, "acknowledge", user, role, ip, None)

    def shelve(
        self,
        alert_id: Any,
        *,
        reason: Any,
        minutes: Any,
        user: str,
        role: str,
        group: bool = False,
        ip: str = "",
    ) -> CommandResult:
        """Shelve the open alert ``alert_id`` (with ``group``, the non-critical members of its
        flood group) for ``minutes`` of twin time with ``reason``: off the feed until then, back
        unacknowledged afterwards (ISA-18.2). Critical alerts are refused."""
        book = self.live.alarm_book

        def build(engine: Engine) -> _Command:
            time_s = float(engine.time_s)
            text = reason.strip() if isinstance(reason, str) else reason
            payload = {
                "alert_id": alert_id,
                "group": bool(group),
                "reason": text,
                "minutes": minutes,
            }

            def check() -> tuple[Any, Any, str]:
                _check_alert_id(alert_id)
                if not isinstance(text, str) or not text:
                    raise ActionError(
                        "give a reason for shelving the alert (what is known about it)",
                        code="bad_value",
                    )
                if len(text) > SHELVE_REASON_MAX_CHARS:
                    raise ActionError(
                        f"the reason is {len(text)} characters long; keep it to "
                        f"{SHELVE_REASON_MAX_CHARS}",
                        code="bad_value",
                    )
                if (
                    isinstance(minutes, bool)
                    or not isinstance(minutes, (int, float))
                    or not math.isfinite(minutes)
                ):
                    raise ActionError(
                        f"shelve for a number of minutes, got {_short(minutes)}", code="bad_value"
                    )
                if not 0 < minutes * 60.0 <= SHELVE_MAX_S:
                    raise ActionError(
                        f"shelve for 1 to {SHELVE_MAX_S / 60:.0f} minutes, got {minutes:g}",
                        code="out_of_range",
                    )
                item = next((a for a in book.feed(time_s) if a["id"] == alert_id), None)
                if item is None:
                    raise ActionError(
                        f"alert {alert_id} is not open (it may have cleared or be shelved already)",
                        code="not_open",
                    )
                count = book.shelvable(alert_id, kind=item["kind"] if group else None)
                if count == 0:
                    raise ActionError(
                        "a critical alert cannot be shelved: acknowledge it and act on it",
                        code="critical",
                    )
                target = _cut(f"alert {alert_id}: {item['place']}: {item['message']}", 200)
                return (
                    {"shelved": False},
                    {
                        "shelved": True,
                        "count": count,
                        "kind": item["kind"] if group else None,
                        "until_s": time_s + minutes * 60.0,
                        "reason": text,
                    },
                    target,
                )

            def apply() -> Any:
                item = next(a for a in book.feed(time_s) if a["id"] == alert_id)
                return book.shelve(
                    alert_id,
                    time_s=time_s,
                    minutes=float(minutes),
                    reason=text,
                    user=user,
                    kind=item["kind"] if group else None,
                )

            return _Command(
                "shelve", "shelve", "alert.shelve", payload, f"alert {alert_id}", check, apply
            )

        return self._submit(build, "shelve", user, role, ip, None)

    def unshelve(self, alert_id: Any, *, user: str, role: str, ip: str = "") -> CommandResult:
        """Put the shelved alert ``alert_id`` (and those shelved with it) back on the feed now,
        to be acknowledged again."""
        book = self.live.alarm_book

        def build(engine: Engine) -> _Command:
            time_s = float(engine.time_s)

            def check() -> tuple[Any, Any, str]:
                _check_alert_id(alert_id)
                item = next((s for s in book.shelved(time_s) if alert_id in s["ids"]), None)
                if item is None:
                    raise ActionError(
                        f"alert {alert_id} is not shelved (its shelf time may have run out)",
                        code="not_shelved",
                    )
                target = _cut(f"alert {alert_id}: {item['place']}: {item['message']}", 200)
                return (
                    {
                        "shelved": True,
                        "until_s": item["shelved_until_s"],
                        "reason": item["shelved_reason"],
                    },
                    {"shelved": False, "count": item["count"]},
                    target,
                )

            return _Command(
                "shelve",
                "unshelve",
                "alert.unshelve",
                {"alert_id": alert_id},
                f"alert {alert_id}",
                check,
                lambda: book.unshelve(alert_id, time_s=time_s, batch=True),
            )

        return self._submit(build, "unshelve", user, role, ip, None)

    def feed(
        self,
        batch_or_records: Any,
        *,
        source: str,
        user: str,
        role: str,
        ip: str = "",
        fmt: str = "ndjson",
        synthetic: bool = False,
        limits: Any = None,
    ) -> CommandResult:
        """Check, record, apply one feed batch of ``source`` (:mod:`twin.feeds`): a body in
        ``fmt`` (``ndjson``, ``json``, ``csv``), a list of record dicts, or typed records.

        The records are parsed in the caller's thread; in the loop thread the batch is
        validated against the twin (all or nothing: a refusal names the first bad record and
        the rule, ``code`` one of :data:`twin.feeds.refusal.RULES`), aggregated, audited,
        recorded (input kind ``feed``, the aggregated arrays) and applied
        (:func:`twin.feeds.apply.apply_batch`). A refused batch changes nothing but its
        source's rejected tally. Only the ``feed`` role may post feeds."""
        from twin.feeds import apply as feed_apply
        from twin.feeds import ingest
        from twin.feeds import payload as feed_payload
        from twin.feeds.refusal import FeedError
        from twin.feeds.validate import FeedLimits
        from twin.service.permissions import may

        source = str(source)[:80]
        try:
            records, early = ingest.read_records(batch_or_records, fmt=fmt), None
        except FeedError as error:
            records, early = None, error
        limits = limits if limits is not None else FeedLimits()
        payload: dict[str, Any] = {"source": source}
        target = f"feed {source}"

        def build(engine: Engine) -> _Command:
            prepared: dict[str, Any] = {}

            def check() -> tuple[Any, Any, str]:
                try:
                    if not may(role, "feed"):
                        raise FeedError(
                            f"the {role!r} role may not post feeds (a feed token is needed)",
                            code="forbidden",
                        )
                    if early is not None:
                        raise early
                    batch = ingest.check_batch(
                        engine, records, source=source, limits=limits, synthetic=synthetic
                    )
                except FeedError as error:
                    payload.update(
                        refused=error.code,
                        record=error.record,
                        line=error.line,
                        records=None if records is None else records.n,
                    )
                    raise
                encoded = feed_payload.encode(batch)
                payload.update(encoded)
                prepared["batch"] = feed_payload.decode(encoded)  # live applies what replay will
                after = {
                    "records": batch.records,
                    "scans": batch.scans,
                    "detector_readings": 0 if batch.detectors is None else len(batch.detectors),
                    "checkpoint_rows": 0 if batch.checkpoints is None else len(batch.checkpoints),
                }
                return None, after, target

            return _Command(
                "feed",
                "feed",
                "feed.batch",
                payload,
                target,
                check,
                lambda: feed_apply.apply_batch(engine, prepared["batch"]),
            )

        def in_loop(engine: Engine) -> CommandResult:
            result = self._run(engine, build, "feed", user, role, ip, None)
            if not result.ok and "refused" in payload:
                feed_apply.count_refusal(
                    engine,
                    source,
                    payload["refused"],
                    result.reason,
                    record=payload.get("record"),
                )
                where = {k: payload.get(k) for k in ("record", "line", "records")}
                result = CommandResult(**{**result.as_dict(), "after": where})
            return result

        return self.live.call(in_loop).result(timeout=self.timeout_s)

    def query(self, name: str, *args: Any) -> Any:
        """A read-only query of the live twin (:data:`twin.service.queries.QUERIES`)."""
        return self.live.query(name, *args, timeout_s=self.timeout_s)

    # ------------------------------------------------------------ in the loop thread
    def _submit(
        self,
        build: Callable[[Any], _Command],
        label: str,
        user: str,
        role: str,
        ip: str,
        based_on: Any,
    ) -> CommandResult:
        future = self.live.call(
            lambda engine: self._run(engine, build, label, user, role, ip, based_on)
        )
        return future.result(timeout=self.timeout_s)

    def _run(
        self,
        engine: Engine,
        build: Callable[[Any], _Command],
        label: str,
        user: str,
        role: str,
        ip: str,
        based_on: Any,
    ) -> CommandResult:
        self._settle_unsettled()
        permission = _PERMISSION_KIND.get(label, label)
        if not self.sandbox and not _permitted(role, permission):
            return self._refuse(
                engine,
                None,
                label,
                f"the role {role or 'none'} may not submit {permission}",
                "forbidden",
                user,
                role,
                ip,
            )
        command = None
        try:
            command = build(engine)
            before, after, target = command.check()
        except ActionError as error:
            return self._refuse(engine, command, label, str(error), error.code, user, role, ip)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
            return self._refuse(
                engine,
                command,
                label,
                f"malformed {label}: {_short(error, 300)}",
                "malformed",
                user,
                role,
                ip,
            )
        warning = ""
        if based_on is not None and not _same(based_on, before):
            warning = self._overwrite_warning(target, user)
        # 1. the audit row, pending (a failure here: nothing written, nothing applied)
        audit_id = self._audit(
            user=user,
            role=role,
            action=command.audit_action,
            target=target,
            before=before,
            after=after,
            result="pending",
            sim_time_s=float(engine.time_s),
            ip=ip,
            detail=self._detail(command, warning=warning),
        )
        # 2. the recording row (a failure: the audit row says not_recorded, nothing applied)
        try:
            seq = self._record(command, engine, user, role, "ok", "", audit_id, before, after)
        except Exception as error:
            self._settle(audit_id, "not_recorded", f"recording write failed: {_short(error, 200)}")
            raise
        # 3. apply (checked above in this same loop turn: cannot be refused now)
        try:
            command.apply()
        except Exception as error:
            self._settle(audit_id, "error", f"recorded but applying failed: {_short(error, 200)}")
            raise
        # 4. settle the audit row (a failure: it stays pending, settled later from the recording)
        self._settle(audit_id, "ok")
        return CommandResult(
            True,
            command.name,
            target,
            before,
            after,
            warning=warning,
            audit_id=audit_id,
            sim_time_s=float(engine.time_s),
            seq=seq,
        )

    def _detail(self, command: _Command | None, *, warning: str = "", label: str = "") -> str:
        """The audit row's detail: the input as submitted (the audit's own copy, from which a
        gap in the recording is re-applied) and the recording it belongs to."""
        recorder = self.recorder
        return json.dumps(
            {
                "payload": command.payload if command is not None else {"refused_input": label},
                "warning": warning,
                "input": command.input_kind if command is not None else _input_kind(label),
                "name": command.name if command is not None else label,
                "recording": _recording_id(recorder),
            },
            default=repr,
            ensure_ascii=False,
        )

    def _refuse(
        self,
        engine: Engine,
        command: _Command | None,
        label: str,
        reason: str,
        code: str,
        user: str,
        role: str,
        ip: str,
    ) -> CommandResult:
        sim_time_s = float(engine.time_s)
        name = command.name if command is not None else label
        target = command.target if command is not None else ""
        audit_action = (
            command.audit_action
            if command is not None
            else _REFUSED_AUDIT.get(label, ACTION_PREFIX + label)
        )
        audit_id = self._audit(
            user=user,
            role=role,
            action=audit_action,
            target=target,
            result="pending",
            sim_time_s=sim_time_s,
            ip=ip,
            detail=reason,  # the reason in the user's words (the admin page shows it)
        )
        input_kind = command.input_kind if command is not None else _input_kind(label)
        seq = None
        if self.recorder is not None:
            payload = command.payload if command is not None else {"refused_input": label}
            try:
                seq = self.recorder.record_input(
                    kind=input_kind,
                    name=name,
                    payload=payload,
                    sim_time_s=sim_time_s,
                    user=user,
                    role=role,
                    result="refused",
                    reason=reason,
                    audit_id=audit_id,
                )
            except Exception as error:
                self._settle(
                    audit_id, "not_recorded", f"recording write failed: {_short(error, 200)}"
                )
                raise
        self._settle(audit_id, "refused")
        return CommandResult(
            False,
            name,
            target,
            reason=reason,
            audit_id=audit_id,
            sim_time_s=sim_time_s,
            code=code,
            seq=seq,
        )

    def _audit(self, **row: Any) -> int | None:
        if self.audit is None:
            return None
        return self.audit.record(**row).id

    def _settle(self, audit_id: int | None, result: str, note: str = "") -> None:
        """Settle a pending audit row; when that write fails too, keep it to settle at the next
        input (and on resume, from the recording: see docs/recording-format.md)."""
        if self.audit is None or audit_id is None:
            return
        try:
            self.audit.settle(audit_id, result, note=note)
        except Exception:  # noqa: BLE001 - the outcome is kept and settled later
            log.exception("audit row %s could not be settled to %s now", audit_id, result)
            self._unsettled[audit_id] = (result, note)

    def _settle_unsettled(self) -> None:
        for audit_id, (result, note) in list(self._unsettled.items()):
            try:
                self.audit.settle(audit_id, result, note=note)
            except AuditError:  # settled meanwhile (by a resume's reconciliation)
                pass
            except Exception:  # noqa: BLE001 - still failing: try again at the next input
                log.warning("audit row %s still cannot be settled", audit_id)
                return
            del self._unsettled[audit_id]

    def _record(
        self,
        command: _Command,
        engine: Engine,
        user: str,
        role: str,
        result: str,
        reason: str,
        audit_id: int | None,
        before: Any,
        after: Any,
    ) -> int | None:
        if self.recorder is None:
            return None
        return self.recorder.record_input(
            kind=command.input_kind,
            name=command.name,
            payload=command.payload,
            sim_time_s=float(engine.time_s),
            user=user,
            role=role,
            result=result,
            reason=reason,
            audit_id=audit_id,
            before=before,
            after=after,
        )

    def _overwrite_warning(self, target: str, user: str) -> str:
        if self.audit is None:
            return f"{target} changed after you loaded it; your change replaced the newer value"
        for entry in self.audit.query(AuditFilter(action=ACTION_PREFIX, result="ok", limit=200)):
            if entry.target == target:
                when = datetime.fromtimestamp(entry.wall_time_s, tz=UTC).strftime("%H:%M:%S UTC")
                who = "you" if entry.user == user else entry.user
                return (
                    f"{target} was changed by {who} at {when} after you loaded it; "
                    "your change replaced theirs"
                )
        return f"{target} changed after you loaded it; your change replaced the newer value"


SHELVE_REASON_MAX_CHARS = 200

_PERMISSION_KIND = {"unshelve": "shelve"}
"""Label of an input -> its kind in the permission table, where they differ."""
_RECORDING_KIND = {"clock": "clock", "acknowledge": "ack", "shelve": "shelve", "unshelve": "shelve"}
_REFUSED_AUDIT = {
    "clock": "clock",
    "acknowledge": "acknowledge",
    "shelve": "alert.shelve",
    "unshelve": "alert.unshelve",
    "feed": "feed",
}
"""Audit ``action`` of an input refused before it was built (operator actions: ``twin.<kind>``)."""


def _recording_id(recorder: Any) -> str | None:
    """The id of the recording ``recorder`` writes (its file's stem), None without one."""
    path = getattr(recorder, "path", None)
    return None if path is None else Path(path).stem


def _input_kind(label: str) -> str:
    """The recording kind of an input refused before it was built (from its label)."""
    return _RECORDING_KIND.get(label, label if label in ("feed",) else "action")


def _permitted(role: str, kind: str) -> bool:
    """The permission table's answer; a kind it does not know is an operator action of an
    unknown kind, refused later as such, when the role may submit operator actions."""
    if kind in INPUT_PERMISSIONS:
        return may(role, kind)
    return any(may(role, action) for action in OPERATOR_ACTIONS)


def _check_alert_id(alert_id: Any) -> None:
    if isinstance(alert_id, bool) or not isinstance(alert_id, int):
        raise ActionError(
            f"alert id must be a whole number, got {_short(alert_id)}", code="bad_value"
        )


def _is_allowed_speed(value: Any, allowed: tuple[float, ...]) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return any(math.isclose(float(value), s) for s in allowed)


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (inputs can be huge)."""
    return _cut(repr(value), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _target(action: Action) -> str:
    for name in ("node_id", "corridor_id", "checkpoint_id"):
        if hasattr(action, name):
            return _cut(f"{name} {getattr(action, name)!r}", 120)
    return ""


def _plain(value: Any) -> Any:
    """JSON-ready copy: tuples to lists, numpy scalars to Python numbers."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _same(a: Any, b: Any) -> bool:
    a, b = _plain(a), _plain(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, abs_tol=1e-6)
    return a == b
