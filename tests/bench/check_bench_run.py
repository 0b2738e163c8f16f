"""bench/run end to end: the overhead and latency scenarios, one second per load, against this
build's binaries.

Checks the contract the README's figures rely on: the last stdout line is one JSON object with the
machine, every target of the scenario (value, target text, pass) and an overall verdict that is
the conjunction of the targets; the figures behind them are measured (calls completed without
errors, CPU and the generator's own CPU per call non-zero), and the derived equal-rate, floor and
same-rate figures follow from them. No speed is asserted: this machine runs other tests at the
same time.
"""

import argparse
import json
import math
import os
import subprocess
import sys


def fail(message):
    print(f"check_bench_run: {message}", file=sys.stderr)
    sys.exit(1)


def run_scenario(args, scenario):
    env = dict(os.environ, PARTNER_BUILD_DIR=args.build)
    done = subprocess.run([args.run, "--duration", "1", scenario], env=env, capture_output=True,
                          text=True, timeout=140, check=False)
    if done.returncode != 0:
        fail(f"bench/run {scenario} exited {done.returncode}:\n{done.stderr[-4000:]}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        fail(f"bench/run {scenario} printed nothing on stdout:\n{done.stderr[-4000:]}")
    try:
        report = json.loads(lines[-1])
    except json.JSONDecodeError as error:
        fail(f"{scenario}: last stdout line is not JSON ({error}): {lines[-1][:500]}")
    if report.get("scenario") != scenario:
        fail(f"scenario is {report.get('scenario')!r}, not {scenario!r}")
    if report["machine"]["cpus"] != os.cpu_count():
        fail(f"machine.cpus {report['machine']['cpus']} is not this machine's {os.cpu_count()}")
    return report


def check_verdicts(report, expected):
    targets = report["targets"]
    if set(targets) != expected:
        fail(f"{report['scenario']}: targets {sorted(targets)}, expected {sorted(expected)}")
    for name, verdict in targets.items():
        if set(verdict) != {"value", "target", "pass"} or not isinstance(verdict["pass"], bool):
            fail(f"target {name} is not {{value, target, pass}}: {verdict}")
        if not isinstance(verdict["value"], (int, float)) or not math.isfinite(verdict["value"]):
            fail(f"target {name} has no measured value: {verdict}")
    if report["pass"] != all(v["pass"] for v in targets.values()):
        fail(f"{report['scenario']}: overall pass {report['pass']} is not the conjunction of the targets")
    if targets["no_errors"]["value"] != 0:
        fail(f"calls failed during the run: {json.dumps(report['figures'])[:2000]}")


def check_runs(figures, runs):
    for run in runs:
        measured = figures[run]
        if measured["completed"] <= 0 or measured["ok"] != measured["completed"]:
            fail(f"{run}: {measured['ok']} of {measured['completed']} calls succeeded")
        if measured["server"]["cpu_seconds"] <= 0 or measured["client"]["cpu_us_per_request"] <= 0:
            fail(f"{run}: no CPU measured: server {measured['server']}, client {measured['client']}")


def check_overhead(args):
    report = run_scenario(args, "overhead")
    check_verdicts(report, {"list_rps_ratio", "get_rps_ratio", "get_cpu_per_rpc_ratio", "no_errors"})
    figures = report["figures"]
    check_runs(figures, ("gateway_list", "gateway_get", "rest_list", "rest_get", "echo_get", "echo_get_at_gateway_rate",
                         "echo_get_answered_from_thread_at_gateway_rate"))

    derived = figures["get_cpu_at_gateway_rate"]
    gateway_us = figures["gateway_get"]["server"]["cpu_us_per_rpc"]
    floor_us = (figures["echo_get_answered_from_thread_at_gateway_rate"]["server"]["cpu_us_per_rpc"] +
                figures["rest_get"]["client"]["cpu_us_per_request"])
    if not math.isclose(derived["floor_us"], floor_us, rel_tol=1e-9):
        fail(f"floor_us {derived['floor_us']} is not async echo + libcurl client = {floor_us}")
    if not math.isclose(derived["gateway_above_floor_us"], gateway_us - floor_us, rel_tol=1e-9, abs_tol=1e-9):
        fail(f"gateway_above_floor_us {derived['gateway_above_floor_us']} is not {gateway_us - floor_us}")
    echo_at_rate = figures["echo_get_at_gateway_rate"]
    if echo_at_rate.get("target_rate") != math.floor(figures["gateway_get"]["throughput_rps"]):
        fail(f"the echo was driven at {echo_at_rate.get('target_rate')}/s, not the gateway's "
             f"{figures['gateway_get']['throughput_rps']}/s")
    print(f"check_bench_run: overhead report well formed; gateway {gateway_us:.0f} us/RPC, floor {floor_us:.0f} us")


def check_latency(args):
    report = run_scenario(args, "latency")
    check_verdicts(report, {"p99_ms", "no_errors"})
    figures = report["figures"]
    check_runs(figures, ("max", "open_loop", "echo_answered_from_thread_at_same_rate"))
    rate = report["rate"]
    if rate != math.floor(figures["max"]["throughput_rps"] / 2):
        fail(f"open-loop rate {rate}/s is not half the closed-loop maximum {figures['max']['throughput_rps']}/s")
    for run in ("open_loop", "echo_answered_from_thread_at_same_rate"):
        if figures[run].get("target_rate") != rate:
            fail(f"{run} was driven at {figures[run].get('target_rate')}/s, not the scenario's {rate}/s")
    if report["targets"]["p99_ms"]["value"] != figures["open_loop"]["latency_ms"]["p99"]:
        fail(f"p99_ms target {report['targets']['p99_ms']} is not the gateway's open-loop p99")
    alone = figures["echo_answered_from_thread_at_same_rate"]["latency_ms"]
    tail = figures["tail_of_grpc_alone"]
    if tail != {"p50_ms": alone["p50"], "p99_ms": alone["p99"]} or not tail["p99_ms"] > 0:
        fail(f"tail_of_grpc_alone {tail} is not the echo's own p50/p99 {alone}")
    print(f"check_bench_run: latency report well formed; p99 {figures['open_loop']['latency_ms']['p99']} ms "
          f"at {rate}/s, gRPC alone {tail['p99_ms']} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True, help="path of bench/run")
    parser.add_argument("--build", required=True, help="build directory holding the binaries")
    args = parser.parse_args()
    check_overhead(args)
    check_latency(args)


if __name__ == "__main__":
    main()
