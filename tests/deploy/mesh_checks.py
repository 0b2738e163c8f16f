"""Istio objects of an overlay (issue 9, point 3), checked against the gateway's configuration
and its gRPC methods. Returns what the Kubernetes checks need to know about the sidecar."""

import re

import yaml

ISTIO_KINDS = {"PeerAuthentication", "AuthorizationPolicy", "DestinationRule", "VirtualService",
               "Sidecar"}
READ_PERMISSIONS = {"*", "customers.read", "subscriptions.read", "access.read"}
WRITE_PERMISSIONS = {"*", "access.write", "users.write"}
GATEWAY = "partner-gateway"


def seconds(duration):
    m = re.fullmatch(r"(\d+)s", str(duration))
    return int(m.group(1)) if m else None


def selects_pods(ov, obj, field="selector"):
    selector = obj["spec"].get(field, {})
    # Sidecar's workloadSelector names its labels `labels`; the security kinds `matchLabels`.
    labels = selector.get("matchLabels", selector.get("labels", {}))
    return bool(labels) and all(ov.pod_labels.get(k) == v for k, v in labels.items())


def check(ov, config, listen):
    present = {kind for kind in ISTIO_KINDS if ov.by_kind[kind]}
    inject = ov.pod_labels.get("sidecar.istio.io/inject") == "true"
    if not present and not inject:
        if config.callers.trust_forwarded_client_cert:
            ov.fail("trusts x-forwarded-client-cert with no mesh sidecar in front")
        return {}
    if present != ISTIO_KINDS or not inject:
        ov.fail(f"partial Istio setup: {sorted(present)}, sidecar injection {inject}")
    host, _, port = listen.rpartition(":")
    port = int(port)
    annotations = ov.pod["metadata"].get("annotations", {})
    proxy = yaml.safe_load(annotations.get("proxy.istio.io/config", "")) or {}
    result = {
        "istiod_port": 15012, "agent_ports": (15020, 15021),
        "drain_seconds": seconds(proxy.get("terminationDrainDuration", "5s")),
        "probes_to_localhost": str((proxy.get("proxyMetadata") or {}).get(
            "REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION", "")).lower() == "true",
    }
    if not proxy.get("holdApplicationUntilProxyStarts"):
        ov.fail("the gateway may start before its sidecar (holdApplicationUntilProxyStarts)")
    if not config.callers.trust_forwarded_client_cert:
        ov.fail("in the mesh the caller's identity is the sidecar's x-forwarded-client-cert, but "
                "callers.trust_forwarded_client_cert is off")
    if not host.startswith("127."):
        ov.fail(f"listener {listen}: behind a sidecar it must be plaintext on 127.0.0.1")

    for sidecar in ov.by_kind["Sidecar"]:
        if not selects_pods(ov, sidecar, "workloadSelector"):
            ov.fail("Sidecar does not select the gateway pods")
        endpoints = {i["port"]["number"]: i for i in sidecar["spec"].get("ingress", [])}
        grpc = endpoints.get(port)
        if (not grpc or grpc.get("defaultEndpoint") != f"127.0.0.1:{port}" or
                grpc["port"].get("protocol") != "GRPC"):
            ov.fail(f"Sidecar does not forward gRPC on {port} to 127.0.0.1:{port}")
    for pa in ov.by_kind["PeerAuthentication"]:
        if pa["spec"].get("mtls", {}).get("mode") != "STRICT" or not selects_pods(ov, pa):
            ov.fail("PeerAuthentication is not STRICT on the gateway pods")

    check_authorization(ov, config)
    check_routes(ov, port)
    for dr in ov.by_kind["DestinationRule"]:
        policy = dr["spec"].get("trafficPolicy", {})
        if dr["spec"].get("host") != GATEWAY:
            ov.fail(f"DestinationRule host {dr['spec'].get('host')} is not {GATEWAY}")
        if policy.get("connectionPool", {}).get("http", {}).get("h2UpgradePolicy") != "UPGRADE":
            ov.fail("DestinationRule does not use HTTP/2 (h2UpgradePolicy UPGRADE)")
        if not policy.get("outlierDetection"):
            ov.fail("DestinationRule has no outlierDetection")
    return result


def check_authorization(ov, config):
    """Every RPC is allowed to someone; whoever the mesh lets through is a caller the gateway knows
    with a permission of the method's kind (the gateway's own check then still applies)."""
    callers = {identity: set(c.permissions) for c in config.callers.callers for identity in c.identities}
    allowed = {path: set() for path in ov.facts.methods}
    for policy in ov.by_kind["AuthorizationPolicy"]:
        if policy["spec"].get("action", "ALLOW") != "ALLOW" or not selects_pods(ov, policy):
            ov.fail("AuthorizationPolicy is not an ALLOW policy on the gateway pods")
        for rule in policy["spec"].get("rules", []):
            principals = [p for f in rule.get("from", [])
                          for p in f.get("source", {}).get("principals", [])]
            paths = [p for t in rule.get("to", []) for p in t.get("operation", {}).get("paths", [])]
            if not principals:
                ov.fail(f"AuthorizationPolicy rule for {paths} admits any caller")
            for path in paths:
                if path not in allowed and not path.startswith("/grpc."):
                    ov.fail(f"AuthorizationPolicy allows {path}, which the gateway does not serve")
                allowed.setdefault(path, set()).update(principals)
    for path, mutating in ov.facts.methods.items():
        if not allowed[path]:
            ov.fail(f"AuthorizationPolicy allows nobody to call {path}")
        needed = WRITE_PERMISSIONS if mutating else READ_PERMISSIONS
        for principal in allowed[path]:
            permissions = callers.get(f"spiffe://{principal}")
            if permissions is None:
                ov.fail(f"AuthorizationPolicy admits {principal}, not a caller in the config")
            elif not permissions & needed:
                ov.fail(f"AuthorizationPolicy lets {principal} call {path}; its permissions "
                        f"{sorted(permissions)} allow no {'write' if mutating else 'read'}")


def route_for(routes, path):
    """The first VirtualService http route whose match takes `path` (Istio's order)."""
    for route in routes:
        matches = route.get("match")
        if not matches:
            return route
        for m in matches:
            uri = m.get("uri", {})
            if uri.get("exact") == path or ("prefix" in uri and path.startswith(uri["prefix"])) or (
                    "regex" in uri and re.fullmatch(uri["regex"], path)):
                return route
    return None


def check_routes(ov, port):
    """No mesh retry of a mutating RPC; at most one of a read, and never on RESOURCE_EXHAUSTED
    (retrying a throttled call only deepens the throttling). Istio retries twice when a route says
    nothing, so every route must say."""
    for vs in ov.by_kind["VirtualService"]:
        if GATEWAY not in vs["spec"].get("hosts", []):
            ov.fail(f"VirtualService hosts {vs['spec'].get('hosts')} do not include {GATEWAY}")
        routes = vs["spec"].get("http", [])
        for route in routes:
            if "retries" not in route:
                ov.fail(f"VirtualService route {route.get('name')} leaves retries to Istio's "
                        "default (2)")
            for destination in route.get("route", []):
                d = destination.get("destination", {})
                if d.get("host") != GATEWAY or d.get("port", {}).get("number", port) != port:
                    ov.fail(f"VirtualService route {route.get('name')} goes to {d}")
        if routes and route_for(routes, "/no.such.Service/Method") is None:
            ov.fail("VirtualService has no final route for other paths (health, reflection)")
        for path, mutating in ov.facts.methods.items():
            route = route_for(routes, path)
            if route is None:
                ov.fail(f"VirtualService routes nothing for {path}")
                continue
            retries = route.get("retries", {})
            attempts = retries.get("attempts", 2)
            retry_on = retries.get("retryOn", "")
            if mutating and attempts != 0:
                ov.fail(f"VirtualService retries mutating {path} ({attempts} attempts)")
            if not mutating and attempts > 1:
                ov.fail(f"VirtualService retries read {path} {attempts} times, at most 1")
            if attempts and ("resource-exhausted" in retry_on or "retriable-status-codes" in retry_on):
                ov.fail(f"VirtualService retries {path} on {retry_on}")
