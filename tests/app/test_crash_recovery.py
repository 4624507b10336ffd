"""Crash recovery (issue 10 §3): ``python app.py`` killed with SIGKILL and restarted, for real.

The server runs as a subprocess (this venv's python, the bundled day at ×60, sign-in on, an
operator's API token). A thread submits actions through ``POST /api/v1/actions`` one after
another (lanes, signal plans, clock speed) while the test kills the process at seeded random
moments, most of them while a request is in flight (and one restart in five is killed again
while it resumes the day). After each restart on the same recordings
folder, ``GET /api/v1/state`` must show every acknowledged action in effect: for each target,
the value is the last acknowledged one, or a value sent after it whose answer the kill cut
off (that one may or may not have been recorded). An acknowledged action missing counts as
lost; the count must be 0. At the end every acknowledged action is in the recording.

Then a truncated and a corrupted copy of the crashed day: the app names each file in its log,
starts a new day, and leaves both files byte for byte as they were.

Waits are bounded polls on conditions; nothing asserts on wall-clock durations.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from auth.users import UserStore
from tests.app.conftest import ROOT
from twin.service.recorder import Recording

ROUNDS = 20
SEED = 20261203
FIRST_START_S = (
    300.0  # bound on the first start (engine build, warm-up, numba compile on a fresh machine)
)
START_S = 180.0  # bound on a restart (engine build, resume from the last snapshot)
CHECKPOINTS = (0, 1, 2, 3)
JUNCTIONS = 3  # the first few signalised junctions
SPEEDS = (30.0, 60.0)


# ---------------------------------------------------------------- HTTP and the server process
def _request(
    base: str, method: str, path: str, token: str, body: dict | None = None, timeout_s: float = 30.0
) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            **({"Content-Type": "application/json"} if data else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """``python app.py`` as a subprocess; its output goes to ``log``."""

    recordings: Path
    auth_db: Path
    log: Path
    token: str
    process: subprocess.Popen | None = None
    base: str = ""
    admin_token: str = ""  # the clock is the admin's (twin/service/permissions.py)

    def start(self, *, bound_s: float) -> dict:
        """Start it and wait until the API answers; the first state."""
        self.spawn()
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"app.py exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, state = _request(self.base, "GET", "/state", self.token, timeout_s=5.0)
                if status == 200:
                    return state
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"app.py did not answer within {bound_s:.0f} s:\n{self.log_tail()}")

    def spawn(self) -> None:
        """Start the process on a free port (without waiting for it)."""
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}/api/v1"
        with self.log.open("ab") as out:
            out.write(f"\n----- start on port {port}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "app.py",
                    "--port",
                    str(port),
                    "--recordings",
                    str(self.recordings),
                    "--speed",
                    "60",
                    "--auth-db",
                    str(self.auth_db),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "VENUETWIN_SECRET_KEY": "c" * 40},
            )

    def kill(self) -> None:
        """SIGKILL this process (only the one this test started) and reap it."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=60)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


# ---------------------------------------------------------------- what was sent and acknowledged
@dataclass
class Target:
    """One thing actions set (a checkpoint's manual lanes, a junction's greens, the clock speed)."""

    known: (
        object  # the value the twin is known to hold (last acknowledged, or seen after a restart)
    )
    pending: list = field(default_factory=list)  # values sent after it whose answer never came
    acked_seq: int | None = None  # the last acknowledged action on it


@dataclass
class Ledger:
    targets: dict
    acked: list = field(default_factory=list)  # (seq, payload) of every acknowledged action
    in_flight: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    refused: int = 0
    unanswered: int = 0
    cut_off_applied: int = 0


def _observed(state: dict) -> dict:
    lanes = {f"lanes:{c['checkpoint_id']}": c["lanes_manual"] for c in state["checkpoint_lanes"]}
    plans = {f"plan:{p['node_id']}": tuple(p["greens_s"]) for p in state["signal_plans"]}
    return {**lanes, **plans, "speed": state["clock"]["speed"]}


def _actions(rng: random.Random, first_state: dict):
    """Endless valid actions: (target key, value, body), each value unlike the last one sent to its
    target, so that a lost action would show."""
    lanes = {c["checkpoint_id"]: c for c in first_state["checkpoint_lanes"]}
    plans = {p["node_id"]: p for p in first_state["signal_plans"][:JUNCTIONS]}
    last = _observed(first_state)
    for key, value, body in _candidates(rng, lanes, plans):
        if value != last[key]:
            last[key] = value
            yield key, value, body


def _candidates(rng: random.Random, lanes: dict, plans: dict):
    while True:
        pick = rng.random()
        if pick < 0.5:
            cp = rng.choice(CHECKPOINTS)
            count = rng.randint(1, max(2, lanes[cp]["lanes_manual"]))
            yield (
                f"lanes:{cp}",
                count,
                {"kind": "set_lanes", "checkpoint_id": cp, "lane_type": "manual", "count": count},
            )
        elif pick < 0.9:
            plan = plans[rng.choice(sorted(plans))]
            low = plan["min_green_s"][0] - plan["greens_s"][0]
            high = plan["greens_s"][1] - plan["min_green_s"][1]
            shift = float(rng.randint(int(max(low, -8)), int(min(high, 8))))
            greens = (
                plan["greens_s"][0] + shift,
                plan["greens_s"][1] - shift,
                *plan["greens_s"][2:],
            )
            yield (
                f"plan:{plan['node_id']}",
                greens,
                {
                    "kind": "set_signal_plan",
                    "node_id": plan["node_id"],
                    "cycle_s": plan["cycle_s"],
                    "greens_s": list(greens),
                    "offset_s": plan["offset_s"],
                },
            )
        else:
            speed = rng.choice(SPEEDS)
            yield "speed", speed, {"kind": "clock", "speed": speed}


def _submit(server: Server, ledger: Ledger, actions, stop: threading.Event, errors: list) -> None:
    """Send actions one after another until ``stop`` or the server dies."""
    try:
        _submit_all(server, ledger, actions, stop, errors)
    except Exception as error:  # noqa: BLE001 - handed to the test, which fails with it
        errors.append(("submitter failed", repr(error)))


def _submit_all(
    server: Server, ledger: Ledger, actions, stop: threading.Event, errors: list
) -> None:
    for key, value, body in actions:
        if stop.is_set():
            return
        with ledger.lock:
            ledger.in_flight, ledger.sent = True, ledger.sent + 1
        try:
            token = server.admin_token if body["kind"] == "clock" else server.token
            status, answer = _request(server.base, "POST", "/actions", token, body, timeout_s=30.0)
        except (
            OSError,
            ValueError,
            http.client.HTTPException,
        ):  # the kill cut the answer off (reset, refused,
            # or headers without the body: not an acknowledgement the client could read)
            status, answer = None, {}
        with ledger.lock:
            ledger.in_flight = False
            target = ledger.targets[key]
            if status == 200:
                target.known, target.pending, target.acked_seq = value, [], answer["seq"]
                ledger.acked.append((answer["seq"], body))
            elif status == 422:
                ledger.refused += 1
            elif status is None or status >= 500:
                target.pending.append(value)
                ledger.unanswered += 1
                return  # the server is gone
            else:
                errors.append((status, answer, body))
                return


def _check_after_restart(ledger: Ledger, state: dict) -> list:
    """Targets whose last acknowledged action is not in effect; then the targets are reset to what is seen."""
    lost = []
    seen = _observed(state)
    for key, target in ledger.targets.items():
        if seen[key] != target.known:
            if seen[key] in target.pending:
                ledger.cut_off_applied += 1  # recorded before the kill, its answer lost: fine
            else:
                lost.append((key, target.acked_seq, target.known, seen[key]))
        target.known, target.pending = seen[key], []
    return lost


def _recorded_as_sent(row, body: dict) -> bool:
    if body["kind"] == "clock":
        return (row.kind, row.name, row.payload) == ("clock", "speed", {"speed": body["speed"]})
    return row.kind == "action" and all(row.payload.get(k) == v for k, v in body.items())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the test
@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    """An auth database with one operator and a token from ``python -m twin users token``."""
    tmp = tmp_path_factory.mktemp("crash")
    db = tmp / "auth.sqlite"
    UserStore(db).add("olga", "correct horse battery", "operator")
    UserStore(db).add("ada", "correct horse battery", "admin")
    tokens = {}
    for name in ("olga", "ada"):
        out = subprocess.run(
            [sys.executable, "-m", "twin", "users", "token", name, "--db", str(db)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        tokens[name] = out.stdout.strip().splitlines()[-1]
    return {"tmp": tmp, "db": db, "token": tokens["olga"], "admin_token": tokens["ada"]}


@pytest.mark.slow  # twenty real SIGKILLs and restarts of app.py: minutes
def test_sigkill_loses_no_acknowledged_action_and_damaged_days_are_left_alone(operator):
    rng = random.Random(SEED)
    tmp = operator["tmp"]
    server = Server(
        tmp / "recordings",
        operator["db"],
        tmp / "app.log",
        operator["token"],
        admin_token=operator["admin_token"],
    )
    state = server.start(bound_s=FIRST_START_S)
    ledger = Ledger({key: Target(value) for key, value in _observed(state).items()})
    actions = _actions(random.Random(SEED + 1), state)
    lost, kills_in_flight, kills_at_start, errors, times = [], 0, 0, [], []
    try:
        for round_no in range(ROUNDS):
            stop = threading.Event()
            thread = threading.Thread(
                target=_submit,
                args=(server, ledger, actions, stop, errors),
                name="submitter",
                daemon=True,
            )
            thread.start()
            time.sleep(rng.uniform(0.3, 2.0))
            if round_no % 4 != 3:  # three rounds in four: kill while an action is on its way
                deadline = time.monotonic() + 5.0
                while not ledger.in_flight and time.monotonic() < deadline:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0.0, 0.01))
            kills_in_flight += ledger.in_flight
            stop.set()
            server.kill()
            thread.join(60)
            assert not thread.is_alive() and not errors, errors
            if round_no % 5 == 4:  # one restart in five is killed again while it resumes the day
                server.spawn()
                time.sleep(rng.uniform(0.2, 2.0))
                server.kill()
                kills_at_start += 1
            state = server.start(bound_s=START_S)
            times.append(state["time_s"])
            lost += _check_after_restart(ledger, state)
        assert times == sorted(times), "the clock went back after a restart"
        server.kill()  # the last crash: its day is copied and damaged below
    finally:
        server.kill()
    acked = len(ledger.acked)
    print(
        f"\ncrash trials: {ROUNDS} SIGKILLs ({kills_in_flight} with an action in flight) and {kills_at_start} "
        f"more during a restart, {ledger.sent} sent, "
        f"{acked} acknowledged, {ledger.unanswered} cut off ({ledger.cut_off_applied} of them found applied), "
        f"{ledger.refused} refused, acknowledged lost: {len(lost)}"
    )
    assert acked >= ROUNDS and kills_in_flight >= ROUNDS // 2
    assert lost == [], f"acknowledged actions not in effect after a restart: {lost}"

    # every acknowledged action is in the day's recording, as sent, applied
    [day] = sorted((tmp / "recordings").glob("*.sqlite"))
    with Recording.open(day) as recording:
        rows = {i.seq: i for i in recording.inputs()}
        assert recording.closing() is None  # killed: the day is still open
    missing = [
        (seq, body)
        for seq, body in ledger.acked
        if seq not in rows or rows[seq].result != "ok" or not _recorded_as_sent(rows[seq], body)
    ]
    assert missing == []

    _damaged_days_are_named_and_left_alone(operator, day)


def _damaged_days_are_named_and_left_alone(operator, crashed: Path) -> None:
    """A truncated and a corrupted copy of the crashed (unclosed) day: named in the log, left
    untouched, and a new day starts."""
    tmp = operator["tmp"]
    folder = tmp / "damaged"
    folder.mkdir()
    whole = tmp / "whole.sqlite"
    shutil.copyfile(crashed, whole)
    if Path(f"{crashed}-wal").exists():
        shutil.copyfile(f"{crashed}-wal", f"{whole}-wal")
    with sqlite3.connect(whole) as conn:  # one self-contained file: the WAL folded in
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = whole.read_bytes()
    truncated, corrupted = folder / "truncated-day.sqlite", folder / "corrupted-day.sqlite"
    truncated.write_bytes(data[: len(data) * 3 // 5])
    noise = random.Random(SEED).randbytes(4096)
    corrupted.write_bytes(data[:8192] + noise + data[8192 + 4096 :])  # page 3 overwritten
    digests = {path: _sha256(path) for path in (truncated, corrupted)}

    server = Server(folder, operator["db"], tmp / "damaged.log", operator["token"])
    try:
        server.start(bound_s=START_S)
        status, listing = _request(server.base, "GET", "/recordings", server.token)
    finally:
        server.kill()
    assert status == 200
    lines = server.log_tail(50_000).splitlines()
    for path in (truncated, corrupted):
        named = [line for line in lines if path.name in line and "untouched" in line]
        assert named and ("damaged" in named[0] or "malformed" in named[0]), lines[-20:]
        assert _sha256(path) == digests[path], f"{path.name} was modified"
    by_id = {row["id"]: row for row in listing["recordings"]}
    assert by_id["truncated-day"]["code"] == by_id["corrupted-day"]["code"] == "corrupt"
    [new_day] = [row for key, row in by_id.items() if key not in ("truncated-day", "corrupted-day")]
    assert "error" not in new_day and new_day["kind"] == "live" and new_day["actions"] == 0
