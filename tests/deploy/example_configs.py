"""deploy/config/*.textproto, the configurations the image is documented with: they parse, the
gateway starts with them, and the listeners they declare are the ones the image's HEALTHCHECK and
EXPOSE rely on."""

import glob
import os
import subprocess

import gateway_facts
import k8s_checks


def load(failures, config_dir, schema):
    """[(file name, GatewayConfig)] of every example that parses."""
    examples = []
    for path in sorted(glob.glob(os.path.join(config_dir, "*.textproto"))):
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            config, error = schema.parse(f.read())
        if error:
            failures.append(f"deploy/config/{name} does not parse as "
                            f"partner.config.v1.GatewayConfig: {error}")
        else:
            examples.append((name, config))
    if not examples:
        failures.append(f"{config_dir}: no example configuration")
    return examples


def plaintext_listeners(config):
    """{port: (host, role)} of the listeners a plaintext client can talk to: the health-only
    listener always, the API listeners only without a `tls` block."""
    listeners = {}
    if config.health_listen_address:
        host, port = k8s_checks.host_port(config.health_listen_address)
        listeners[port] = (host, "health")
    if not config.HasField("tls"):
        for address in config.listen_addresses:
            host, port = k8s_checks.host_port(address)
            listeners[port] = (host, "api")
    return listeners


def health_ports(examples):
    """The ports of the examples' health-only listeners."""
    return {port for _, config in examples
            for port, (_, role) in plaintext_listeners(config).items() if role == "health"}


def covers(bound_host, target_host):
    """Whether a listener bound to bound_host accepts connections made to target_host."""
    return bound_host in ("0.0.0.0", "::", "") or bound_host == target_host


def with_stand_ins(config, stand_in, root):
    """A copy of `config` whose files (and audit log) are stand-ins under `root`."""
    local = type(config)()
    local.CopyFrom(config)
    os.makedirs(root, exist_ok=True)
    for field, path in k8s_checks.config_files(local).items():
        if not path:
            continue
        stand_in_path = os.path.join(root, field)
        with open(stand_in_path, "wb") as f:
            f.write(gateway_facts.stand_in_content(field, stand_in))
        *parents, leaf = field.split(".")
        message = local
        for parent in parents:
            message = getattr(message, parent)
        setattr(message, leaf, stand_in_path)
    local.audit_log_path = os.path.join(root, "audit.jsonl")
    return local


def check_healthcheck_runs(failures, examples, healthcheck, gateway, probe, stand_in, work):
    """Runs the Dockerfile's HEALTHCHECK command (the built probe for argv[0]) against a gateway
    started with each example configuration, on the listener its --target names; it must exit 0.
    The gateway runs on free loopback ports, so --target's port is mapped to the listener the
    example configures on it."""
    from google.protobuf import text_format
    argv, target_host, target_port = healthcheck
    for name, config in examples:
        listeners = plaintext_listeners(config)
        if target_port not in listeners:
            continue  # dockerfile_checks already reports a target nothing plaintext listens on
        root = os.path.join(work, "examples", os.path.splitext(name)[0])
        local = with_stand_ins(config, stand_in, root)
        config_path = os.path.join(root, "config.textproto")
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(text_format.MessageToString(local))
        try:
            running = gateway_facts.RunningGateway(gateway, probe, work,
                                                   [f"--config={config_path}"])
        except RuntimeError as e:
            failures.append(f"deploy/config/{name}: the gateway does not start with it: {e}")
            continue
        try:
            role = listeners[target_port][1]
            port = running.health_port if role == "health" else running.grpc_port
            command = [probe] + [f"--target={target_host}:{port}" if a.startswith("--target=")
                                 else a for a in argv[1:]]
            out = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                failures.append(f"Dockerfile: HEALTHCHECK fails against a gateway running "
                                f"deploy/config/{name} (its {role} listener, port {target_port} "
                                f"in the config): exit {out.returncode}: "
                                f"{(out.stdout + out.stderr).strip()}")
        finally:
            running.stop()
