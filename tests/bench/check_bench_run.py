"""bench/run end to end: the overhead, latency, concurrency and emulator scenarios, with their
measured loads cut to one second, against this build's binaries.

Checks the contract the README's figures rely on: the last stdout line is one JSON object with the
machine, every target of the scenario (value, target text, pass) and an overall verdict that is
the conjunction of the targets; the figures behind them are measured (calls completed without
errors in each run's window, warm-up and drain, the rate is the window's, CPU and the generator's
own CPU per call non-zero), and the derived equal-rate, floor and same-rate figures follow from
them. No speed is asserted: this machine runs other tests at the same time.
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
                          text=True, timeout=280, check=False)
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


def check_calls(run, measured):
    """The window's calls all succeeded and give its rate; so did those of the warm-up and the drain.

    A closed loop runs on through its window: calls still in flight when it closes complete in the
    drain, and none of them counts in the rate.
    """
    if measured["completed"] <= 0 or measured["ok"] != measured["completed"]:
        fail(f"{run}: {measured['ok']} of {measured['completed']} calls succeeded")
    if not measured["seconds"] > 0 or not math.isclose(measured["throughput_rps"],
                                                     measured["completed"] / measured["seconds"], rel_tol=1e-9):
        fail(f"{run}: throughput {measured['throughput_rps']}/s is not {measured['completed']} calls over the "
             f"window's {measured['seconds']} s")
    for phase, calls in measured["unmeasured"].items():
        if calls["ok"] != calls["completed"]:
            fail(f"{run}: {calls['completed'] - calls['ok']} calls of the {phase} failed: {calls['errors']}")
    if "target_rate" not in measured and measured["unmeasured"]["drain"]["completed"] <= 0:
        fail(f"{run}: a closed loop ended its window with no call in flight: {measured['unmeasured']}")


def check_runs(figures, runs):
    for run in runs:
        measured = figures[run]
        check_calls(run, measured)
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
    check_runs(figures, ("max", "open_loop", "upstream_alone_at_same_rate", "relay_floor_at_same_rate",
                         "echo_answered_from_thread_at_same_rate"))
    rate = report["rate"]
    if rate != math.floor(figures["max"]["throughput_rps"] / 2):
        fail(f"open-loop rate {rate}/s is not half the closed-loop maximum {figures['max']['throughput_rps']}/s")
    for run in ("open_loop", "upstream_alone_at_same_rate", "relay_floor_at_same_rate",
                "echo_answered_from_thread_at_same_rate"):
        if figures[run].get("target_rate") != rate:
            fail(f"{run} was driven at {figures[run].get('target_rate')}/s, not the scenario's {rate}/s")
    if report["targets"]["p99_ms"]["value"] != figures["open_loop"]["latency_ms"]["p99"]:
        fail(f"p99_ms target {report['targets']['p99_ms']} is not the gateway's open-loop p99")
    if figures["upstream_alone_at_same_rate"]["mode"] != "rest":
        fail(f"the upstream alone was not driven over REST: {figures['upstream_alone_at_same_rate']['mode']}")
    # About one: requests counted at the window's edges and calls completed in it differ by the
    # calls in flight, a large share of a one-second window on a loaded machine.
    relayed = figures["relay_floor_at_same_rate"]["upstream"]["per_rpc"]
    if not 0.5 <= relayed <= 1.5:
        fail(f"the relay made {relayed} upstream requests per call, not one")
    tails = {}
    for tail_name, run in (("tail_of_upstream_alone", "upstream_alone_at_same_rate"),
                           ("tail_of_relay_floor", "relay_floor_at_same_rate"),
                           ("tail_of_grpc_alone", "echo_answered_from_thread_at_same_rate")):
        alone = figures[run]["latency_ms"]
        tail = figures[tail_name]
        if tail != {"p50_ms": alone["p50"], "p99_ms": alone["p99"]} or not tail["p99_ms"] > 0:
            fail(f"{tail_name} {tail} is not {run}'s own p50/p99 {alone}")
        tails[tail_name] = tail["p99_ms"]
    # Each of the three processes sleeps and wakes while serving calls; one wake-up may serve several.
    for run, scheduling in figures["scheduling_per_call"].items():
        for process, switches in scheduling["context_switches"].items():
            if not isinstance(switches, (int, float)) or not switches > 0:
                fail(f"{run}: {process} made {switches} context switches per call")
        for process, wait in scheduling["run_queue_wait_us"].items():
            if not isinstance(wait, (int, float)) or wait < 0:
                fail(f"{run}: {process} waited {wait} us per call for a CPU")
    wakeup = figures["one_wakeup_on_an_idle_machine_at_same_rate"]
    check_calls("one_wakeup_on_an_idle_machine_at_same_rate", wakeup)
    if wakeup["mode"] != "wakeup" or wakeup["target_rate"] != rate:
        fail(f"the wake-up probe ran as {wakeup['mode']} at {wakeup.get('target_rate')}/s, not at {rate}/s")
    if figures["tail_of_one_wakeup"] != {"p50_ms": wakeup["latency_ms"]["p50"], "p99_ms": wakeup["latency_ms"]["p99"],
                                         "p999_ms": wakeup["latency_ms"]["p999"]}:
        fail(f"tail_of_one_wakeup {figures['tail_of_one_wakeup']} is not the probe's {wakeup['latency_ms']}")
    switches = figures["scheduling_per_call"]["gateway"]["context_switches"]
    print(f"check_bench_run: latency report well formed; p99 {figures['open_loop']['latency_ms']['p99']} ms "
          f"at {rate}/s, upstream alone {tails['tail_of_upstream_alone']} ms, relay {tails['tail_of_relay_floor']} ms, "
          f"gRPC alone {tails['tail_of_grpc_alone']} ms; context switches per call {switches}; one wake-up p99 "
          f"{figures['tail_of_one_wakeup']['p99_ms']} ms")


def check_concurrency(args):
    report = run_scenario(args, "concurrency")
    check_verdicts(report, {"fraction_of_bound", "bound_round_trips_are_sequential", "max_threads", "peak_rss_mib",
                            "no_errors"})
    figures = report["figures"]
    check_runs(figures, ("loaded", "rest_at_gateway_upstream_load", "echo_answered_from_thread_at_gateway_rate"))
    unloaded = figures["unloaded"]
    loaded = figures["loaded"]
    check_calls("unloaded", unloaded)
    if not unloaded["upstream"]["per_rpc"] >= 1:
        fail(f"the unloaded run measured no upstream work: {unloaded['upstream']}")
    if not 1 <= loaded["seconds"] < 2:
        fail(f"the loaded run's window lasted {loaded['seconds']} s, not the 1 s asked for")
    per_rpc = loaded["upstream"]["per_rpc"]
    emulator_us = loaded["upstream"]["emulator"]["cpu_us_per_request"]
    if not per_rpc >= 1 or not emulator_us > 0:
        fail(f"the loaded run measured no upstream work: {loaded['upstream']}")
    round_trip_ms = unloaded["latency_ms"]["mean"] / unloaded["upstream"]["per_rpc"]
    zero_queue_ms = round_trip_ms * per_rpc
    bound = report["in_flight"] / (zero_queue_ms / 1000)
    if not math.isclose(report["little_bound_rps"], bound, rel_tol=1e-9):
        fail(f"little_bound_rps {report['little_bound_rps']} is not in-flight / (unloaded ms per upstream round trip x "
             f"the loaded run's round trips per call) = {bound}")
    if not math.isclose(figures["bound"]["loaded_latency_with_nothing_queued_ms"], zero_queue_ms, rel_tol=1e-9):
        fail(f"bound figures {figures['bound']} do not give {zero_queue_ms} ms with nothing queued")
    if report["targets"]["bound_round_trips_are_sequential"]["value"] != round_trip_ms:
        fail(f"bound_round_trips_are_sequential {report['targets']['bound_round_trips_are_sequential']} is not "
             f"{round_trip_ms} ms per round trip")
    if not math.isclose(report["targets"]["fraction_of_bound"]["value"], loaded["throughput_rps"] / bound, rel_tol=1e-9):
        fail(f"fraction_of_bound {report['targets']['fraction_of_bound']} is not loaded rate / bound")
    cpu = figures["cpu_at_gateway_load"]
    floor = (figures["echo_answered_from_thread_at_gateway_rate"]["server"]["cpu_us_per_rpc"] +
             per_rpc * figures["rest_at_gateway_upstream_load"]["client"]["cpu_us_per_request"])
    machine = loaded["client"]["cpu_us_per_request"] + floor + per_rpc * emulator_us
    expected = {
        "gateway_floor_us": floor,
        "gateway_above_floor_us": loaded["server"]["cpu_us_per_rpc"] - floor,
        "machine_us_per_rpc_with_floor_gateway": machine,
        "floor_gateway_fraction_of_bound": os.cpu_count() * 1e6 / machine / bound,
        "gateway_alone_fraction_of_bound": os.cpu_count() * 1e6 / loaded["server"]["cpu_us_per_rpc"] / bound,
    }
    for name, value in expected.items():
        if not math.isclose(cpu[name], value, rel_tol=1e-9, abs_tol=1e-9):
            fail(f"cpu_at_gateway_load.{name} {cpu[name]} is not {value}")
    print(f"check_bench_run: concurrency report well formed; {loaded['throughput_rps']:.0f}/s against a bound of "
          f"{bound:.0f}/s, gateway {loaded['server']['cpu_us_per_rpc']:.0f} us/RPC, floor {floor:.0f} us")


def check_emulator(args):
    """5 000 requests in flight over REST: more than one libcurl handle's share, so several loops."""
    report = run_scenario(args, "emulator")
    check_verdicts(report, {"no_errors", "all_held_in_their_delay_at_once", "p50_latency_within_2x_injected_ms",
                            "max_threads"})
    figures = report["figures"]
    check_calls("emulator", figures)
    # All 5 000 at once is the scenario's own target (all_held_in_their_delay_at_once), a matter of
    # speed: beside the rest of the test suite the first requests can finish their 250 ms before
    # the last are sent (4 969 were held at once in one such run). Here: the slots of every
    # libcurl handle were in flight together.
    if figures["held"]["delayedPeak"] < 0.9 * report["in_flight"]:
        fail(f"the emulator held {figures['held']['delayedPeak']} requests at once, not ~{report['in_flight']}")
    # Nearly every slot has a call in flight when the window closes; one that completes just as it
    # closes may count in the window and start nothing more.
    drained = figures["unmeasured"]["drain"]["completed"]
    if not 0.9 * report["in_flight"] <= drained <= report["in_flight"]:
        fail(f"{drained} calls completed after the window, not the ~{report['in_flight']} in flight when it closed")
    print(f"check_bench_run: emulator report well formed; {figures['throughput_rps']:.0f}/s, "
          f"p50 {figures['latency_ms']['p50']} ms")


CHECKS = {"overhead": check_overhead, "latency": check_latency, "concurrency": check_concurrency,
          "emulator": check_emulator}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True, help="path of bench/run")
    parser.add_argument("--build", required=True, help="build directory holding the binaries")
    parser.add_argument("--scenario", action="append", required=True, choices=sorted(CHECKS),
                        help="scenario to run and check; repeatable")
    args = parser.parse_args()
    for scenario in args.scenario:
        CHECKS[scenario](args)


if __name__ == "__main__":
    main()
