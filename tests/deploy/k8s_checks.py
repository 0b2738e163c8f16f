"""Checks on the objects one kustomize overlay renders to: issue 9's invariants, and agreement
with the gateway's own flags, configuration schema, ports, health answers and gRPC methods."""

import base64
import collections
import math
import os
import re
import shutil
import subprocess

import yaml

import gateway_facts
import mesh_checks

# gateway: the binary; stand_in: (certificate, key) files; work: a scratch directory.
Facts = collections.namedtuple("Facts", "flags schema methods readme gateway stand_in work")

GATEWAY = "partner-gateway"
DNS_PEER = {"k8s-app": "kube-dns"}


def render(kubectl, path):
    out = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path}: exit {out.returncode}: {out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def host_port(address):
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback(host):
    return host in ("localhost", "::1") or host.startswith("127.")


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_port(container, port):
    """A probe's or Service's port (number or name) as a number."""
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    return None


def prestop_seconds(container):
    pre = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre:
        return int(pre["sleep"]["seconds"])
    command = pre.get("exec", {}).get("command", [])
    if len(command) == 2 and os.path.basename(command[0]) == "sleep":
        return int(command[1])
    return 0


class Overlay:
    """The rendered objects of one overlay, indexed, with the gateway's parsed configuration."""

    def __init__(self, name, objects, facts, failures):
        self.name, self.objects, self.facts = name, objects, facts
        self._failures = failures
        self.by_kind = collections.defaultdict(list)
        for o in objects:
            self.by_kind[o["kind"]].append(o)
        self.deployment = self.one("Deployment", GATEWAY)
        self.pod = self.deployment["spec"]["template"] if self.deployment else {}
        self.pod_labels = self.pod.get("metadata", {}).get("labels", {})
        containers = self.pod.get("spec", {}).get("containers", [])
        self.container = next((c for c in containers if c["name"] == GATEWAY), None)
        if self.deployment and not self.container:
            self.fail(f"Deployment {GATEWAY} has no container {GATEWAY}")
        self.config = self.config_text = self.config_map = None
        self.flags = {}

    def fail(self, message):
        self._failures.append(f"{self.name}: {message}")

    def one(self, kind, name):
        found = [o for o in self.by_kind[kind] if o["metadata"]["name"] == name]
        if len(found) != 1:
            self.fail(f"{len(found)} {kind} named {name}, want 1")
            return None
        return found[0]

    def mounts(self):
        """[(mountPath, volume, readOnly)] of the gateway container."""
        volumes = {v["name"]: v for v in self.pod["spec"].get("volumes", [])}
        return [(m["mountPath"], volumes.get(m["name"], {}), m.get("readOnly", False))
                for m in self.container.get("volumeMounts", [])]

    def mount_of(self, path):
        best = None
        for mount_path, volume, read_only in self.mounts():
            if path.startswith(mount_path.rstrip("/") + "/"):
                if best is None or len(mount_path) > len(best[0]):
                    best = (mount_path, volume, read_only)
        return best


def load_config(ov):
    """Parses the textproto the gateway is started with; returns (config, grpc address, admin
    address) as the gateway would see them after its flag overrides."""
    args = ov.container.get("args", []) + ov.container.get("command", [])[1:]
    flags = {}
    for arg in args:
        m = re.match(r"--(\w+)(?:=(.*))?$", arg)
        if not m:
            ov.fail(f"argument {arg!r} is not --flag=value")
            continue
        if m.group(1) not in ov.facts.flags:
            ov.fail(f"--{m.group(1)} is not a partner-gateway flag (its --helpfull: "
                    f"{sorted(ov.facts.flags)})")
        flags[m.group(1)] = m.group(2)
    ov.flags = flags
    config_path = flags.get("config")
    if not config_path:
        ov.fail("the gateway is not started with --config")
        return None, None, None
    mount = ov.mount_of(config_path)
    if not mount or "configMap" not in mount[1]:
        ov.fail(f"--config={config_path} is not in a ConfigMap volume")
        return None, None, None
    ov.config_map = ov.one("ConfigMap", mount[1]["configMap"]["name"])
    key = os.path.relpath(config_path, mount[0])
    text = (ov.config_map or {}).get("data", {}).get(key)
    if text is None:
        ov.fail(f"ConfigMap {mount[1]['configMap']['name']} has no key {key}")
        return None, None, None
    config, error = ov.facts.schema.parse(text)
    if error:
        ov.fail(f"{key} does not parse as partner.config.v1.GatewayConfig: {error}")
        return None, None, None
    ov.config, ov.config_text = config, text
    listen = [flags["listen"]] if flags.get("listen") else list(config.listen_addresses)
    admin = flags.get("admin_listen") or config.admin_address
    if len(listen) != 1 or not admin:
        ov.fail(f"want exactly one listen address and an explicit admin_address, got {listen} {admin!r}")
        return None, None, None
    return config, listen[0], admin


def config_files(config):
    """{field: path} of every file the configuration names (empty when unset)."""
    return {
        "tls.cert_file": config.tls.cert_file, "tls.key_file": config.tls.key_file,
        "tls.client_ca_file": config.tls.client_ca_file,
        "credential.certificate.certificate_file": config.credential.certificate.certificate_file,
        "credential.certificate.private_key_file": config.credential.certificate.private_key_file,
        "credential.client_secret_file": config.credential.client_secret_file,
        "callers.bearer_token_digests_file": config.callers.bearer_token_digests_file,
        "page_token_key_file": config.page_token_key_file,
        "upstreams.ca_bundle_file": config.upstreams.ca_bundle_file,
    }


def check_config_files(ov, config):
    """Every file the configuration names is mounted from the right kind of volume; every Secret
    mounted is used by the configuration (a Secret that is not there keeps the pod from starting)."""
    files = config_files(config)
    used_mounts, unexplained = set(), set()
    rendered_secrets = {s["metadata"]["name"]: s for s in ov.by_kind["Secret"]}
    for field, path in files.items():
        if not path:
            continue
        mount = ov.mount_of(path)
        if not mount or "secret" not in mount[1]:
            ov.fail(f"{field} {path} is not in a Secret volume")
            continue
        used_mounts.add(mount[0])
        secret = mount[1]["secret"]
        key = os.path.relpath(path, mount[0])
        items = secret.get("items")
        keys = [i["path"] for i in items] if items else None
        if keys is not None and key not in keys:
            ov.fail(f"{field} {path}: Secret volume projects only {keys}")
        rendered = rendered_secrets.get(secret["secretName"])
        rendered_keys = {**(rendered or {}).get("data", {}), **(rendered or {}).get("stringData", {})}
        if rendered is not None and key not in rendered_keys:
            ov.fail(f"{field} {path}: Secret {secret['secretName']} has no key {key}")
        name = secret["secretName"]
        if rendered is None and name not in ov.facts.readme and name not in unexplained:
            unexplained.add(name)
            ov.fail(f"Secret {name} is neither rendered nor explained in deploy/README.md")
    for mount_path, volume, _ in ov.mounts():
        if "secret" in volume and mount_path not in used_mounts:
            ov.fail(f"Secret {volume['secret']['secretName']} mounted at {mount_path} but unused "
                    "by the configuration")
    audit = config.audit_log_path
    mount = ov.mount_of(audit) if audit else None
    if not mount or mount[2] or not ({"emptyDir", "persistentVolumeClaim"} & set(mount[1])):
        ov.fail(f"audit_log_path {audit!r} is not on a writable volume (the root filesystem is "
                "read-only)")


def check_security(ov):
    pod_sc = ov.pod["spec"].get("securityContext", {})
    sc = ov.container.get("securityContext", {})
    if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
        ov.fail("runAsNonRoot is not true")
    if sc.get("runAsUser", pod_sc.get("runAsUser", 1)) == 0:
        ov.fail("runs as uid 0")
    if sc.get("allowPrivilegeEscalation") is not False:
        ov.fail("allowPrivilegeEscalation is not false")
    if sc.get("readOnlyRootFilesystem") is not True:
        ov.fail("readOnlyRootFilesystem is not true")
    if sc.get("privileged"):
        ov.fail("privileged")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
        ov.fail("capabilities: want drop [ALL] and nothing added")
    resources = ov.container.get("resources", {})
    for section in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in resources.get(section, {}):
                ov.fail(f"resources.{section}.{resource} missing")


def check_probes(ov, config, gateway, grpc_port, admin_port, health_port, loopback, mesh):
    """Each probe reaches a port the gateway listens on, asks something the running binary answers
    healthy, and is one kubelet can actually perform against this listener. Outside a mesh the API
    listener is TLS, so every probe is native gRPC on the plaintext health-only listener."""
    probes = {kind: ov.container.get(kind)
              for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    for required in ("livenessProbe", "readinessProbe"):
        if not probes[required]:
            ov.fail(f"no {required}")
    tls = config.HasField("tls")
    for kind, probe in probes.items():
        if not probe:
            continue
        if "grpc" in probe:
            port = probe["grpc"].get("port")
            on_health = health_port is not None and port == health_port
            if port != grpc_port and not on_health:
                ov.fail(f"{kind}: gRPC probe on port {port}, gateway listens on {grpc_port}"
                        f"{f' and health-only on {health_port}' if health_port else ''}")
                continue
            if tls and not on_health:
                ov.fail(f"{kind}: kubelet's gRPC probe has no TLS, the listener is TLS (probe "
                        "the health_listen_address listener instead)")
            if loopback and not on_health and not mesh.get("probes_to_localhost"):
                ov.fail(f"{kind}: gRPC probe to a loopback-only listener, with no istio-agent "
                        "rewriting it to 127.0.0.1")
            service = probe["grpc"].get("service", "")
            if gateway.health(service, health_listener=on_health) != 0:
                ov.fail(f"{kind}: partner-gateway does not answer SERVING for health service "
                        f"{service!r} on its {'health-only' if on_health else 'API'} listener")
        elif "httpGet" in probe:
            port = container_port(ov.container, probe["httpGet"].get("port"))
            if port != admin_port:
                ov.fail(f"{kind}: HTTP probe on port {port}, the admin listener is {admin_port}")
            path = probe["httpGet"].get("path", "/")
            if gateway.admin_status(path) != 200:
                ov.fail(f"{kind}: partner-gateway's admin listener does not answer 200 on {path}")
        else:
            ov.fail(f"{kind}: neither a gRPC nor an admin HTTP probe")
    # Readiness must turn false when draining starts: the admin /readyz and the health-only
    # listener's grpc.health.v1 both do (the API listener stops accepting instead).
    readiness = probes["readinessProbe"] or {}
    ready_on_health = health_port is not None and readiness.get("grpc", {}).get("port") == health_port
    if readiness.get("httpGet", {}).get("path") != "/readyz" and not ready_on_health:
        ov.fail("readinessProbe is neither the admin /readyz nor grpc.health.v1 on the health-only "
                "listener (both turn not-serving when draining starts)")
    if not tls and "grpc" not in (probes["livenessProbe"] or {}):
        ov.fail("plaintext listener but livenessProbe is not the native grpc.health.v1 probe")
    if not mesh:
        # Issue 9: native gRPC liveness and readiness probes on grpc.health.v1.
        for kind, probe in probes.items():
            if (probe or {}).get("grpc", {}).get("port") != health_port or health_port is None:
                ov.fail(f"{kind}: outside a mesh, want kubelet's native gRPC probe on the "
                        "health-only listener (health_listen_address, port grpc-health)")
        if gateway.admin_status("/readyz") != 200:
            ov.fail("the admin listener does not answer 200 on /readyz")


def check_health_listener(ov, health, gateway, mesh):
    """health_listen_address is plaintext and unauthenticated: it serves grpc.health.v1 only, is
    reachable by kubelet (the pod IP), is declared as the container port grpc-health and is
    exposed by no Service or NetworkPolicy (both are checked against the grpc and admin ports)."""
    ports = {p["name"]: p["containerPort"] for p in ov.container.get("ports", [])}
    if not health:
        if not mesh:
            ov.fail("no health_listen_address: kubelet's gRPC probes cannot reach the TLS listener")
        if "grpc-health" in ports:
            ov.fail("container port grpc-health declared, but no health_listen_address")
        return None
    host, port = host_port(health)
    if ports.get("grpc-health") != port:
        ov.fail(f"container port grpc-health is {ports.get('grpc-health')}, health_listen_address "
                f"{health}")
    if is_loopback(host) and not mesh.get("probes_to_localhost"):
        ov.fail(f"health_listen_address {health} is loopback: kubelet probes the pod IP")
    for method in ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                   *sorted(ov.facts.methods)):
        code = gateway.call_status(method, health_listener=True)
        if code != "UNIMPLEMENTED":
            ov.fail(f"the health-only listener answers {method} with {code}, want UNIMPLEMENTED")
    return port


def check_termination(ov, config, mesh):
    sleep = prestop_seconds(ov.container)
    drain = config.drain_grace_seconds
    if drain <= 0:
        ov.fail("drain_grace_seconds is not set explicitly in the configuration")
    grace = ov.pod["spec"].get("terminationGracePeriodSeconds", 30)
    if not sleep + drain < grace <= sleep + drain + 15:
        ov.fail(f"terminationGracePeriodSeconds {grace} does not match preStop {sleep} s + "
                f"drain_grace_seconds {drain} (want more, by at most 15 s)")
    if mesh.get("drain_seconds") is not None and mesh["drain_seconds"] < sleep + drain:
        ov.fail(f"sidecar terminationDrainDuration {mesh['drain_seconds']} s ends before the "
                f"gateway's drain ({sleep + drain} s)")


def check_service(ov, grpc_port, admin_port):
    service = ov.one("Service", GATEWAY)
    if not service:
        return
    if not selects(service["spec"].get("selector"), ov.pod_labels):
        ov.fail("Service selector does not select the gateway pods")
    for other in ov.by_kind["Deployment"]:
        labels = other["spec"]["template"]["metadata"].get("labels", {})
        if other is not ov.deployment and selects(service["spec"].get("selector"), labels):
            ov.fail(f"Service {GATEWAY} also selects Deployment {other['metadata']['name']}")
    ports = {p.get("name"): p for p in service["spec"].get("ports", [])}
    grpc = ports.get("grpc")
    if not grpc or grpc.get("appProtocol") != "grpc":
        ov.fail("Service has no port named grpc with appProtocol grpc")
    elif container_port(ov.container, grpc.get("targetPort", grpc["port"])) != grpc_port:
        ov.fail(f"Service port grpc does not target the gRPC port {grpc_port}")
    for p in ports.values():
        target = container_port(ov.container, p.get("targetPort", p["port"]))
        if p is not grpc and target not in (grpc_port, admin_port):
            ov.fail(f"Service port {p.get('name')} targets nothing the gateway listens on")
    annotations = ov.pod["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/port", str(admin_port)) != str(admin_port):
        ov.fail(f"prometheus.io/port {annotations['prometheus.io/port']} is not the admin port "
                f"{admin_port}")


def check_scaling(ov):
    """Returns the most pods that can run at once: HPA maxReplicas plus the rollout's surge."""
    hpa = ov.one("HorizontalPodAutoscaler", GATEWAY)
    pdb = ov.one("PodDisruptionBudget", GATEWAY)
    if not hpa or not ov.deployment:
        return None
    spec = hpa["spec"]
    target = spec["scaleTargetRef"]
    if target.get("kind") != "Deployment" or target.get("name") != GATEWAY:
        ov.fail("HorizontalPodAutoscaler does not target the gateway Deployment")
    if spec.get("minReplicas", 1) < 2 or spec["maxReplicas"] < spec.get("minReplicas", 1):
        ov.fail(f"HPA replicas {spec.get('minReplicas', 1)}..{spec['maxReplicas']}: want at least 2")
    if ov.deployment["spec"].get("replicas", 2) < 2:
        ov.fail("Deployment has fewer than 2 replicas")
    if pdb:
        if not selects(pdb["spec"].get("selector", {}).get("matchLabels"), ov.pod_labels):
            ov.fail("PodDisruptionBudget does not select the gateway pods")
        unavailable = pdb["spec"].get("maxUnavailable")
        if not (isinstance(unavailable, int) and 1 <= unavailable < spec.get("minReplicas", 1)):
            ov.fail(f"PodDisruptionBudget maxUnavailable {unavailable}: want 1..minReplicas-1")
    rolling = ov.deployment["spec"].get("strategy", {}).get("rollingUpdate", {})
    surge = rolling.get("maxSurge", "25%")
    if isinstance(surge, str):
        surge = math.ceil(spec["maxReplicas"] * int(surge.rstrip("%")) / 100)
    if rolling.get("maxUnavailable", "25%") != 0:
        ov.fail("rollout maxUnavailable is not 0 (a rollout would drop below the HPA's count)")
    return spec["maxReplicas"] + surge


def check_network_policy(ov, grpc_port, admin_port, mesh):
    policies = [p for p in ov.by_kind["NetworkPolicy"]
                if selects(p["spec"].get("podSelector", {}).get("matchLabels"), ov.pod_labels)]
    if len(policies) != 1:
        ov.fail(f"{len(policies)} NetworkPolicies select the gateway pods, want 1")
        return
    spec = policies[0]["spec"]
    if set(spec.get("policyTypes", [])) != {"Ingress", "Egress"}:
        ov.fail("NetworkPolicy does not restrict both Ingress and Egress")
    workloads = [d["spec"]["template"] for d in ov.by_kind["Deployment"] if d is not ov.deployment]
    for rule in spec.get("egress", []):
        peers, ports = rule.get("to", []), rule.get("ports", [])
        if not ports:
            ov.fail(f"NetworkPolicy egress rule {rule} allows every port")
        for port in ports:
            number = port.get("port")
            if number == 53 and peers and all(
                    p.get("podSelector", {}).get("matchLabels") == DNS_PEER and
                    p.get("namespaceSelector", {}).get("matchLabels") ==
                    {"kubernetes.io/metadata.name": "kube-system"} for p in peers):
                continue
            if number == 443 and port.get("protocol", "TCP") == "TCP":
                continue
            if mesh.get("istiod_port") == number and peers and all(
                    p.get("podSelector", {}).get("matchLabels") == {"app": "istiod"} for p in peers):
                continue
            # A workload of this overlay (the sandbox's emulator) on a port it serves.
            if peers and all(any(selects(p.get("podSelector", {}).get("matchLabels"),
                                         w["metadata"].get("labels", {})) and
                                 number in [cp["containerPort"] for c in w["spec"]["containers"]
                                            for cp in c.get("ports", [])]
                                 for w in workloads) and "namespaceSelector" not in p
                             for p in peers):
                continue
            ov.fail(f"NetworkPolicy allows egress to port {number} of {peers or 'anywhere'}: "
                    "want DNS (kube-dns), 443 and nothing else")
    allowed_in = {grpc_port, admin_port} | set(mesh.get("agent_ports", ()))
    for rule in spec.get("ingress", []):
        for port in rule.get("ports", []) or [{"port": None}]:
            number = container_port(ov.container, port["port"])
            if number not in allowed_in:
                ov.fail(f"NetworkPolicy allows ingress to port {port['port']}, "
                        f"the gateway serves {sorted(allowed_in)}")


def check_throttling_share(ov, config, pods):
    """Each replica's upstream rate is its share of the partner's budget, so all of them together
    (pods: the most that can run at once) stay within it."""
    annotation = "partner-gateway.io/upstream-budget-rps"
    raw = (ov.config_map or {}).get("metadata", {}).get("annotations", {}).get(annotation)
    if not raw or pods is None:
        ov.fail(f"the config ConfigMap has no {annotation} annotation (the partner's budget)")
        return
    budget = {}
    for item in raw.split(","):
        key, _, value = item.partition("=")
        budget[key.strip()] = float(value)
    rate_fields = [f.name for f in config.limits.DESCRIPTOR.fields
                   if f.name.endswith("_requests_per_second")]
    services = {f[:-len("_requests_per_second")] for f in rate_fields}
    if set(budget) != services:
        ov.fail(f"{annotation} names {sorted(budget)}; config.proto's rate limits are "
                f"{sorted(services)}")
    for service in services & set(budget):
        rate = getattr(config.limits, f"{service}_requests_per_second")
        share = math.floor(budget[service] / pods * 100) / 100
        if not (rate > 0 and share - 0.005 <= rate <= budget[service] / pods + 1e-9):
            ov.fail(f"limits.{service}_requests_per_second is {rate}: want the per-replica share "
                    f"{budget[service]} / {pods} pods = {share}")


def check_overlay(failures, name, objects, facts, gateway):
    """Returns the port of the overlay's health-only listener, None without one."""
    ov = Overlay(name, objects, facts, failures)
    if not ov.container:
        return
    namespaces = {o["metadata"].get("namespace") for o in objects
                  if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")}
    if len(namespaces) != 1 or None in namespaces:
        ov.fail(f"objects are in namespaces {namespaces}: want one, set by the overlay")
    config, listen, admin = load_config(ov)
    if not config:
        return
    (listen_host, grpc_port), (_, admin_port) = host_port(listen), host_port(admin)
    loopback = is_loopback(listen_host)
    if not config.HasField("tls") and not loopback:
        ov.fail(f"plaintext listener on {listen}: the gateway refuses it (tls required)")
    ports = {p["name"]: p["containerPort"] for p in ov.container.get("ports", [])}
    if ports.get("grpc") != grpc_port or ports.get("http-admin") != admin_port:
        ov.fail(f"container ports {ports}: the config listens on grpc {grpc_port}, admin {admin_port}")
    mesh = mesh_checks.check(ov, config, listen)
    health = ov.flags.get("health_listen") or config.health_listen_address
    health_port = check_health_listener(ov, health, gateway, mesh)
    check_config_files(ov, config)
    check_starts(ov, listen, admin, health)
    check_security(ov)
    check_probes(ov, config, gateway, grpc_port, admin_port, health_port, loopback, mesh)
    check_termination(ov, config, mesh)
    check_service(ov, grpc_port, admin_port)
    check_network_policy(ov, grpc_port, admin_port, mesh)
    check_throttling_share(ov, config, check_scaling(ov))
    return health_port


def check_starts(ov, listen, admin, health):
    """The configuration is one the gateway accepts and starts with: every path under the pod's
    mounts is moved to a directory of the test, holding the rendered Secret's bytes where the
    overlay renders the Secret, and stand-ins (a self-signed certificate and key, 32 random
    bytes) for the Secrets an installer creates."""
    text = ov.config_text
    root = os.path.join(ov.facts.work, "start", ov.name)
    shutil.rmtree(root, ignore_errors=True)
    local = {}
    for mount_path, _, _ in ov.mounts():
        local[mount_path] = os.path.join(root, mount_path.lstrip("/"))
        os.makedirs(local[mount_path], exist_ok=True)
        text = text.replace(f'"{mount_path}/', f'"{local[mount_path]}/')
    rendered = {s["metadata"]["name"]: s.get("data", {}) for s in ov.by_kind["Secret"]}
    for field, path in config_files(ov.config).items():
        mount = ov.mount_of(path) if path else None
        if not mount or "secret" not in mount[1]:
            continue
        target = os.path.join(local[mount[0]], os.path.relpath(path, mount[0]))
        data = rendered.get(mount[1]["secret"]["secretName"], {}).get(os.path.relpath(path, mount[0]))
        if data is not None:
            content = base64.b64decode(data)
        else:
            content = gateway_facts.stand_in_content(field, ov.facts.stand_in)
        with open(target, "wb") as f:
            f.write(content)
    config_path = os.path.join(root, "config.textproto")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(text)
    why = gateway_facts.start_with_config(ov.facts.gateway, config_path,
                                          host_port(listen)[0], host_port(admin)[0],
                                          host_port(health)[0] if health else None)
    if why:
        ov.fail(f"partner-gateway refuses the overlay's configuration: {why}")
