"""Requests/second of an authenticated GET /api/v1/me under each ASGI server `tocsin serve` supports."""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOCSIN = ROOT / ".venv" / "bin" / "tocsin"
HOST = "127.0.0.1"
PASSWORD = "bench-password-123"
STARTUP_TIMEOUT = 60
STOP_TIMEOUT = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", default="granian,uvicorn", help="comma-separated (default granian,uvicorn)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load per run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first (default 2)")
    args = parser.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    return args


def free_port():
    # Binding to port 0 lets the kernel pick; a small race with another process remains but is harmless here.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_cli(env, *args):
    result = subprocess.run([str(TOCSIN), *args], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        sys.exit(f"`tocsin {' '.join(args)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(env):
    run_cli(env, "demo", "--password", PASSWORD)
    output = run_cli(env, "token", "create", "--user", "admin", "--name", "bench")
    return output.split()[-1]


def wait_healthy(proc, port, log_path):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before becoming healthy")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {STARTUP_TIMEOUT}s")


def live_group_members(pgid):
    """Pids still running in process group pgid (zombies excluded: they hold nothing)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name is parenthesised and may contain spaces, so split after the last ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def stop(proc):
    """Stop `tocsin serve` and everything it started; return (seconds taken, pids that outlived it)."""
    started = time.monotonic()
    if proc.poll() is None:
        # The supervisor forwards SIGTERM to its server child; killing only that child would orphan the workers.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    elapsed = time.monotonic() - started
    # start_new_session made the serve process a group leader, so its whole tree (server workers included,
    # even ones the supervisor lost track of) can be found and killed by group.
    stragglers = live_group_members(proc.pid)
    if stragglers:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    return elapsed, stragglers


def check_endpoint(port, token):
    # A 401 or 500 would make wrk's req/s meaningless, so look at one response before loading it.
    response = httpx.get(f"http://{HOST}:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if response.status_code != 200:
        return f"GET /api/v1/me -> {response.status_code}: {response.text[:300]}"
    return None


def wrk(port, token, duration, connections, threads, latency=True):
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        "-H", f"Authorization: Bearer {token}", f"http://{HOST}:{port}/api/v1/me",
    ]
    if latency:
        command.insert(1, "--latency")
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    return result.stdout


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS_MS[match.group(2)] if match else None


def parse_wrk(output):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    # wrk prints this line only when some responses were not 2xx/3xx.
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    total = re.search(r"(\d+) requests in", output)
    return {
        "rps": float(rps.group(1)) if rps else None,
        "p50": to_ms(p50.group(1)) if p50 else None,
        "p99": to_ms(p99.group(1)) if p99 else None,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "requests": int(total.group(1)) if total else None,
        "socket_errors": errors.group(0) if errors else "",
    }


def measure(env, tmp, server, workers, token, args):
    port = free_port()
    log_path = tmp / f"serve-{server}-{workers}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(TOCSIN), "serve", "--host", HOST, "--port", str(port), "--server", server, "--workers", str(workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    result = {}
    try:
        wait_healthy(proc, port, log_path)
        result["problem"] = check_endpoint(port, token)
        if args.warmup > 0:
            # First requests pay for imports, connection setup and cold caches in every worker.
            wrk(port, token, args.warmup, args.connections, args.threads, latency=False)
        result.update(parse_wrk(wrk(port, token, args.duration, args.connections, args.threads)))
        return result
    except Exception:
        show_log(log_path, server, workers, everything=True)
        raise
    finally:
        result["stop_seconds"], result["stragglers"] = stop(proc)
        show_log(log_path, server, workers)


def show_log(log_path, server, workers, everything=False):
    # Per-request access lines at INFO drown the warnings and tracebacks that explain a bad run.
    lines = log_path.read_text(errors="replace").splitlines()
    if not everything:
        lines = [line for line in lines if '"level": "INFO"' not in line and not line.startswith("Tocsin is serving")]
    if lines:
        print(f"--- {server} x{workers} server log ({'last lines' if everything else 'non-INFO lines'}):", file=sys.stderr)
        print("\n".join(lines[-30:]), file=sys.stderr)


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def main():
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed; install it with `apt-get install wrk` and run again.")
    if not TOCSIN.exists():
        sys.exit(f"{TOCSIN} not found; create the virtualenv and install the project first.")

    tmp = Path(tempfile.mkdtemp(prefix="bench-tocsin-"))
    env = os.environ.copy()
    env["TOCSIN_DATABASE_URL"] = f"sqlite:///{tmp / 'tocsin.db'}"
    env["TOCSIN_AUDIT_ANCHOR_FILE"] = str(tmp / "audit.anchors")
    # Mirror the settings default so the printed level is the one the servers actually run with.
    synchronous = env.get("TOCSIN_SQLITE_SYNCHRONOUS", "FULL").upper()

    rows = []
    try:
        token = prepare(env)
        for server in args.servers:
            for workers in args.workers:
                print(f"running {server} with {workers} worker(s) for {args.duration}s ...", file=sys.stderr, flush=True)
                try:
                    rows.append((server, workers, measure(env, tmp, server, workers, token, args)))
                except Exception as exc:
                    # One broken server must not hide the other's figures.
                    rows.append((server, workers, {"error": str(exc)}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"GET /api/v1/me  wrk -t{args.threads} -c{args.connections} -d{args.duration}s  "
          f"cores={os.cpu_count()}  sqlite synchronous={synchronous}")
    print(f"{'server':<8} {'workers':>7} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'stop s':>7}")
    for server, workers, r in rows:
        if "error" in r:
            print(f"{server:<8} {workers:>7}  ERROR: {r['error']}")
            continue
        print(f"{server:<8} {workers:>7} {fmt(r['rps'], '10.1f')} {fmt(r['p50'], '8.2f')} "
              f"{fmt(r['p99'], '8.2f')} {r['non2xx']:>8} {r['stop_seconds']:>7.1f}")
    for server, workers, r in rows:
        if r.get("problem"):
            print(f"note: {server} x{workers}: {r['problem']}")
        if r.get("stragglers"):
            print(f"note: {server} x{workers}: pids {r['stragglers']} outlived `tocsin serve` after SIGTERM "
                  f"({r['stop_seconds']:.1f}s) and were SIGKILLed")
        if r.get("socket_errors"):
            print(f"note: {server} x{workers}: {r['socket_errors']}")


if __name__ == "__main__":
    main()
