"""tests/deploy: renders every kustomize overlay and checks deploy/ against the built binaries.
Prints every failure found (not just the first) and exits 1 if there was any."""

import argparse
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dockerfile_checks  # noqa: E402
import example_configs  # noqa: E402
import gateway_facts  # noqa: E402
import k8s_checks  # noqa: E402
import legacy_render  # noqa: E402


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


README_SECTIONS = ("## The image", "## Installing on Kubernetes", "### Sandbox", "## With Istio",
                   "## Scaling out", "## Certificate rotation", "## Upgrading",
                   "## What to watch on /metrics")


def check_readme(failures, readme, metric_families):
    """deploy/README.md covers issue 9's topics and names only metrics the gateway exports."""
    for section in README_SECTIONS:
        if not re.search(f"^{re.escape(section)}", readme, re.MULTILINE):
            failures.append(f"deploy/README.md: no section {section!r}")
    watch = readme.partition("## What to watch on /metrics")[2]
    for name in sorted(set(re.findall(r"`(partner_\w+)", watch))):
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in metric_families and family not in metric_families:
            failures.append(f"deploy/README.md: {name} is not on the gateway's /metrics")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("repo", "build", "gateway", "probe", "protoc", "kubectl", "openssl", "work"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)

    failures = []
    config_proto = os.path.join(args.repo, "server", "config", "config.proto")
    grpc_port, admin_port = gateway_facts.config_defaults(config_proto)
    schema = gateway_facts.ConfigSchema(args.protoc, config_proto, args.work)
    stand_in = gateway_facts.self_signed_pem(args.openssl, args.work)
    examples = example_configs.load(failures, os.path.join(args.repo, "deploy", "config"), schema)
    healthcheck = dockerfile_checks.check(
        failures, os.path.join(args.repo, "deploy", "docker", "Dockerfile"),
        os.path.join(args.repo, "README.md"), args.build, grpc_port, admin_port, examples)
    example_health_ports = example_configs.health_ports(examples)
    if healthcheck:
        example_configs.check_healthcheck_runs(failures, examples, healthcheck, args.gateway,
                                               args.probe, stand_in, args.work)
    dockerfile_checks.check_runtime_packages(
        failures, os.path.join(args.repo, "deploy", "docker", "runtime-packages.sh"),
        [args.gateway, args.probe])

    facts = k8s_checks.Facts(
        flags=gateway_facts.gateway_flags(args.gateway),
        schema=schema,
        methods=gateway_facts.grpc_methods(args.protoc, os.path.join(args.repo, "proto"), args.work),
        readme=read(os.path.join(args.repo, "deploy", "README.md")),
        gateway=args.gateway, stand_in=stand_in,
        work=args.work)
    if not facts.flags:
        failures.append("partner-gateway --helpfull listed no flags")
    legacy_kubectl = legacy_render.legacy_kubectl()
    if not legacy_kubectl:
        print(f"{legacy_render.ENV} not set: overlays rendered with {args.kubectl} only")
    gateway = gateway_facts.RunningGateway(args.gateway, args.probe, args.work)
    try:
        overlays_dir = os.path.join(args.repo, "deploy", "k8s", "overlays")
        overlays = sorted(d for d in os.listdir(overlays_dir)
                          if os.path.isfile(os.path.join(overlays_dir, d, "kustomization.yaml")))
        for required in ("sandbox", "production"):
            if required not in overlays:
                failures.append(f"deploy/k8s/overlays/{required}: missing")
        for overlay in overlays:
            path = os.path.join(overlays_dir, overlay)
            objects = k8s_checks.render(args.kubectl, path)
            if legacy_kubectl:
                legacy_render.check(failures, overlay, path, objects, legacy_kubectl)
            health_port = k8s_checks.check_overlay(failures, overlay, objects, facts, gateway)
            if health_port is not None and example_health_ports and \
                    health_port not in example_health_ports:
                failures.append(f"{overlay}: health-only listener on port {health_port}; "
                                f"deploy/config and the image use {sorted(example_health_ports)}")
        check_readme(failures, facts.readme, gateway.metric_names())
    finally:
        gateway.stop()

    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{len(failures)} failure(s) in {', '.join(overlays)} and deploy/docker")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
