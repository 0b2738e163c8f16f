"""Static checks of deploy/docker/Dockerfile: Docker is not available where the tests run, so
the invariants a reviewer would check by eye are checked here instead."""

import json
import os
import re
import shlex
import subprocess

import example_configs


def instructions(text):
    """(KEYWORD, arguments) pairs with line continuations joined and comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment between continuation lines
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def stages(text):
    """Each stage as {"from": image, "name": alias, "steps": [(KEYWORD, args)...]}."""
    result = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append({"from": words[0], "name": alias, "steps": []})
        elif result:
            result[-1]["steps"].append((keyword, args))
    return result


def exec_form(args):
    """The argv of a JSON (exec) form instruction, or of a shell form split like sh would."""
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def is_debian_12(image):
    return re.fullmatch(r"(docker\.io/)?(library/)?debian:(12|bookworm)([.-][\w.-]*)?(@sha256:\w+)?",
                        image) is not None


def check(failures, dockerfile_path, readme_path, build_dir, grpc_port, admin_port, examples):
    """examples: [(name, GatewayConfig)] of deploy/config. Returns the HEALTHCHECK as
    (argv, target host, target port) when its target is right for every example, else None."""
    with open(dockerfile_path, encoding="utf-8") as f:
        text = f.read()
    all_stages = stages(text)
    if len(all_stages) < 2:
        failures.append(f"Dockerfile: {len(all_stages)} stage(s); want a build and a runtime stage")
        return None
    for stage in all_stages:
        if not is_debian_12(stage["from"]):
            failures.append(f"Dockerfile: FROM {stage['from']} is not Debian 12 (debian:12 / bookworm)")
    build, runtime = all_stages[0], all_stages[-1]

    # The build stage runs the README's own script, without the test tools.
    runs = [args for keyword, args in build["steps"] if keyword == "RUN"]
    setup_runs = [r for r in runs if "deploy/setup.sh" in r]
    if not any(re.search(r"deploy/setup\.sh\s+--no-tests\b", r) for r in setup_runs):
        failures.append("Dockerfile: the build stage does not run deploy/setup.sh --no-tests")
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    if not re.search(r"^bash deploy/setup\.sh\b", readme, re.MULTILINE):
        failures.append("README.md: no longer builds with `bash deploy/setup.sh`; the Dockerfile "
                        "must run whatever the README runs")

    # Every build output the image ships exists in a build tree configured like the image's.
    for keyword, args in build["steps"]:
        if keyword != "RUN":
            continue
        for rel in re.findall(r"\bbuild/[\w./-]+", args):
            if rel.endswith("/"):
                continue
            if not os.path.exists(os.path.join(build_dir, rel[len("build/"):])):
                failures.append(f"Dockerfile: copies {rel}, which the build does not produce")

    # Runtime stage: not the build image, no compiler, a non-root user, the health check.
    steps = runtime["steps"]
    joined = " ".join(args for keyword, args in steps if keyword == "RUN")
    for forbidden in ("build-essential", "cmake", "-dev ", "g++", "clang"):
        if forbidden in joined + " ":
            failures.append(f"Dockerfile: the runtime stage installs {forbidden.strip()}")
    users = [args for keyword, args in steps if keyword == "USER"]
    if not users:
        failures.append("Dockerfile: the runtime stage has no USER (it would run as root)")
    else:
        user = users[-1].split(":")[0]
        if user in ("0", "root") or not user.isdigit():
            failures.append(f"Dockerfile: USER {users[-1]}: want a numeric non-root uid, so "
                            "Kubernetes can verify runAsNonRoot")
    checks = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    healthcheck = None
    if len(checks) != 1:
        failures.append(f"Dockerfile: {len(checks)} HEALTHCHECK instructions in the runtime "
                        "stage, want 1")
    else:
        _, _, command = checks[0].partition("CMD")
        argv = exec_form(command)
        healthcheck = check_healthcheck_target(failures, argv, examples)
        if not argv or os.path.basename(argv[0]) != "partner-health-probe":
            failures.append(f"Dockerfile: HEALTHCHECK runs {argv[:1]}, not partner-health-probe")
            healthcheck = None
    health_ports = example_configs.health_ports(examples)
    exposed = {p.split("/")[0] for keyword, args in steps if keyword == "EXPOSE" for p in args.split()}
    want = {str(port) for port in {grpc_port, admin_port} | health_ports}
    if exposed != want:
        failures.append(f"Dockerfile: EXPOSE {sorted(exposed)}, want the gateway's ports "
                        f"{grpc_port} and {admin_port} and the example configurations' health-only "
                        f"port(s) {sorted(health_ports)}")
    entry = [args for keyword, args in steps if keyword == "ENTRYPOINT"]
    if not entry or os.path.basename(exec_form(entry[-1])[0]) != "partner-gateway":
        failures.append("Dockerfile: ENTRYPOINT is not partner-gateway")
    return healthcheck


def check_healthcheck_target(failures, argv, examples):
    """The probe speaks plaintext and runs inside the container, so its --target must be, in every
    example configuration (deploy/config), a plaintext listener bound where the target's host
    reaches it: the health-only listener, since the examples' API listeners are TLS.
    Returns (argv, host, port) to run against a gateway, or None."""
    tls_flags = [a for a in argv if a.startswith("--tls")]
    if tls_flags:
        failures.append(f"Dockerfile: HEALTHCHECK passes {tls_flags}: the image ships no CA or "
                        "client certificate; probe the plaintext health-only listener instead")
    targets = [a.split("=", 1)[1] for a in argv if a.startswith("--target=")]
    if len(targets) != 1:
        failures.append(f"Dockerfile: HEALTHCHECK has {len(targets)} --target flags, want 1")
        return None
    host, _, port = targets[0].rpartition(":")
    if not port.isdigit():
        failures.append(f"Dockerfile: HEALTHCHECK --target={targets[0]} is not HOST:PORT")
        return None
    port = int(port)
    ok = not tls_flags
    for name, config in examples:
        listeners = example_configs.plaintext_listeners(config)
        if port not in listeners:
            tls = " (TLS there; the probe speaks plaintext)" if any(
                port == int(a.rpartition(":")[2]) for a in config.listen_addresses) else ""
            health = config.health_listen_address
            want = (f"want its health_listen_address ({health}) port" if health else
                    "it sets no health_listen_address")
            failures.append(f"Dockerfile: HEALTHCHECK probes port {port}, which is no plaintext "
                            f"listener of deploy/config/{name}{tls}: it never passes with that "
                            f"configuration; {want}")
            ok = False
        elif not example_configs.covers(listeners[port][0], host):
            failures.append(f"Dockerfile: HEALTHCHECK probes {targets[0]}, but "
                            f"deploy/config/{name} binds that port on {listeners[port][0]}")
            ok = False
    return (argv, host, port) if ok else None


def check_runtime_packages(failures, script, binaries):
    """The build stage's package list, computed here for the binaries this build produced: it must
    resolve every library to a package and name no development package."""
    out = subprocess.run(["bash", script, *binaries], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        failures.append(f"{os.path.basename(script)} fails on the built binaries: {out.stderr.strip()}")
        return
    packages = out.stdout.split()
    if not packages or any(p.split(":")[0].endswith("-dev") for p in packages):
        failures.append(f"{os.path.basename(script)}: runtime packages {packages}")
