"""Start, ask and stop a workspace's check server (plain functions behind `mi-exercise server`)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from mi_exercise.server import client, protocol

START_SECONDS = 240.0  # torch, pytest and TransformerLens imported on a busy two-core machine


class ServerError(Exception):
    pass


def ask(state_dir: Path, message: dict, timeout: float = 5.0) -> dict | None:
    """One request and its answer, or None when no server answers."""
    sock = client.connect(state_dir)
    if sock is None:
        return None
    try:
        sock.settimeout(timeout)
        protocol.send(sock, message)
        lines = protocol.Lines(sock)
        while (line := lines.take()) is None:
            if not lines.feed():
                return None
        return line if isinstance(line, dict) else None
    except (OSError, ValueError):
        return None
    finally:
        sock.close()


def status(state_dir: Path) -> dict:
    """{"state": "running", ...the server's own report} | {"state": "starting"} | {"state": "stopped"}."""
    answer = ask(state_dir, {"op": "status"})
    if answer is not None:
        return {"state": "running", **answer}
    if client.server_lock_held(state_dir):
        return {"state": "starting"}
    return {"state": "stopped"}


def start(state_dir: Path, wait: bool = True, timeout: float = START_SECONDS) -> dict:
    """Start the server unless one runs; with `wait`, until it answers. Its status."""
    if protocol.opted_out():
        raise ServerError(f"the check server is turned off here ({protocol.OPT_OUT_ENV}="
                          f"{os.environ.get(protocol.OPT_OUT_ENV)})")
    now = status(state_dir)
    if now["state"] == "running":
        return {**now, "already": True}
    if now["state"] == "stopped":
        client.start_in_background(state_dir)
    if not wait:
        return status(state_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = status(state_dir)
        if now["state"] == "running":
            return now
        if now["state"] == "stopped":
            time.sleep(0.3)  # the lock is taken a moment after the process starts
            if status(state_dir)["state"] == "stopped":
                raise ServerError(f"the check server did not start; see {state_dir / protocol.LOG}")
        time.sleep(0.1)
    raise ServerError(f"the check server did not answer within {timeout:.0f} s; see {state_dir / protocol.LOG}")


def stop(state_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the server (its running commands are interrupted first); False when none ran."""
    answer = ask(state_dir, {"op": "stop"})
    pid = _recorded_pid(state_dir)
    if answer is None and not client.server_lock_held(state_dir):
        return False
    deadline = time.monotonic() + timeout
    while client.server_lock_held(state_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    if client.server_lock_held(state_dir) and pid:  # not answering, or stuck: the signal way
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError:
                break
            end = time.monotonic() + 3
            while client.server_lock_held(state_dir) and time.monotonic() < end:
                time.sleep(0.05)
    return True


def _recorded_pid(state_dir: Path) -> int | None:
    try:
        return int(json.loads((state_dir / protocol.STATE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def describe(info: dict) -> str:
    if info["state"] == "starting":
        return "check server starting (importing torch and the graders' libraries)"
    if info["state"] != "running":
        return "no check server running"
    idle_left = max(0, info.get("idle_limit_s", 0) - info.get("idle_s", 0))
    sandbox = "sandboxed" if info.get("sandboxed") else "unsandboxed"
    running = "; running: " + ", ".join(" ".join(argv) for argv in info["running"]) if info.get("running") else ""
    return (f"check server running (pid {info['pid']}, {sandbox}, up {info.get('uptime_s', 0):.0f} s, "
            f"{info.get('served', 0)} commands served, {info.get('forks', 0)} workers forked, "
            f"stops after {idle_left:.0f} s idle){running}")
