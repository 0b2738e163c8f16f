"""What the manifests must agree with, taken from the built binaries and the protos rather than
copied by hand: flag names, configuration fields and defaults, gRPC method paths, and the health
service names and admin paths a running gateway actually answers."""

import importlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request


def gateway_flags(gateway):
    """Names of the gateway's command-line flags, from its own --helpfull."""
    out = subprocess.run([gateway, "--helpfull"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"^\s+--(\w+) \(", out.stdout + out.stderr, re.MULTILINE))


def config_defaults(config_proto):
    """Default gRPC and admin ports, from the comments of server/config/config.proto that document
    them (load_config.cc applies the same values)."""
    with open(config_proto, encoding="utf-8") as f:
        text = f.read()
    listen = re.search(r'Default \["[^"]*:(\d+)"\]\.\s*\n(?:\s*//.*\n)*'
                       r'\s*repeated string listen_addresses', text)
    admin = re.search(r'Default "[^"]*:(\d+)"\.\s*\n\s*string admin_address', text)
    if not listen or not admin:
        raise RuntimeError(f"{config_proto}: cannot find the documented listen/admin defaults")
    return int(listen.group(1)), int(admin.group(1))


class ConfigSchema:
    """partner.config.v1.GatewayConfig compiled from server/config/config.proto with protoc, so a
    misspelt or removed field in a manifest's textproto fails to parse."""

    def __init__(self, protoc, config_proto, work):
        out = os.path.join(work, "config_py")
        os.makedirs(out, exist_ok=True)
        subprocess.run([protoc, f"-I{os.path.dirname(config_proto)}", f"--python_out={out}",
                        os.path.basename(config_proto)], check=True)
        sys.path.insert(0, out)
        self._pb2 = importlib.import_module("config_pb2")
        from google.protobuf import text_format
        self._text_format = text_format

    def parse(self, text):
        """(GatewayConfig, None) or (None, error message)."""
        message = self._pb2.GatewayConfig()
        try:
            self._text_format.Parse(text, message)
        except self._text_format.ParseError as e:
            return None, str(e)
        return message, None


def grpc_methods(protoc, proto_root, work):
    """{"/partner.v1.Service/Method": is_mutating} for every RPC under proto/partner/v1. Reads are
    the List*/Get* methods; everything else changes the partner's tenants."""
    from google.protobuf import descriptor_pb2
    api_dir = os.path.join(proto_root, "partner", "v1")
    files = sorted(f"partner/v1/{name}" for name in os.listdir(api_dir) if name.endswith(".proto"))
    out = os.path.join(work, "api.pb")
    subprocess.run([protoc, f"-I{proto_root}", f"--descriptor_set_out={out}", *files], check=True)
    descriptors = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        descriptors.ParseFromString(f.read())
    methods = {}
    for file in descriptors.file:
        for service in file.service:
            for method in service.method:
                path = f"/{file.package}.{service.name}/{method.name}"
                methods[path] = not re.match(r"(List|Get)[A-Z]", method.name)
    return methods


class RunningGateway:
    """partner-gateway on free loopback ports (--sandbox unless `mode` says otherwise, e.g.
    ["--config=FILE"]), for asking the binary itself which health services and admin paths it
    serves."""

    def __init__(self, gateway, probe, work, mode=("--sandbox",)):
        self._probe = probe
        env = dict(os.environ, TMPDIR=work)
        stderr = tempfile.TemporaryFile(mode="w+", dir=work)
        self._process = subprocess.Popen(
            [gateway, *mode, "--listen", "127.0.0.1:0", "--admin_listen", "127.0.0.1:0",
             "--health_listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        self.grpc_port = self.admin_port = self.health_port = None
        # A gateway that never prints its ports is killed, which ends the read loop.
        watchdog = threading.Timer(30, self._process.kill)
        watchdog.start()
        for line in self._process.stdout:
            if m := re.match(r"partner-gateway: listening on [\d.]+:(\d+)", line):
                self.grpc_port = int(m.group(1))
            elif m := re.match(r"partner-gateway: admin http on [\d.]+:(\d+)", line):
                self.admin_port = int(m.group(1))
            elif m := re.match(r"partner-gateway: health on [\d.]+:(\d+) \(grpc\.health\.v1", line):
                self.health_port = int(m.group(1))
            if None not in (self.grpc_port, self.admin_port, self.health_port):
                break
        watchdog.cancel()
        if None in (self.grpc_port, self.admin_port, self.health_port):
            self.stop()
            stderr.seek(0)
            raise RuntimeError(f"partner-gateway {' '.join(mode)} did not report its ports: "
                               f"{stderr.read().strip()}")
        stderr.close()

    def health(self, service, health_listener=False):
        """The probe's exit code for grpc.health.v1 Check(service) on the API listener or the
        health-only listener (health_listen_address): 0 means SERVING."""
        port = self.health_port if health_listener else self.grpc_port
        return subprocess.run([self._probe, f"--target=127.0.0.1:{port}",
                               f"--service={service}", "--timeout=5s"],
                              capture_output=True, timeout=30).returncode

    def call_status(self, method, health_listener=False):
        """The gRPC status code name of an empty-request call to `method`, without TLS."""
        import grpc
        port = self.health_port if health_listener else self.grpc_port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(method)
            try:
                call(b"", timeout=5)
            except grpc.RpcError as e:
                return e.code().name
            return "OK"

    def admin_status(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def metric_names(self):
        """Every metric family /metrics declares (# TYPE lines), even before any sample."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return set(re.findall(r"^# TYPE (\w+) ", text, re.MULTILINE))

    def stop(self):
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def self_signed_pem(openssl, work):
    """(certificate, key) PEM files standing in for every certificate a configuration names."""
    cert, key = os.path.join(work, "stand-in.crt"), os.path.join(work, "stand-in.key")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=partner-gateway", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def stand_in_content(field, stand_in):
    """Bytes standing in for the file a configuration field names (see config_files in
    k8s_checks): the stand-in key or certificate, else 32 random bytes in hex."""
    cert, key = stand_in
    if field.endswith(("key_file", "private_key_file")) and "page_token" not in field:
        path = key
    elif field.endswith(("cert_file", "certificate_file", "ca_file", "ca_bundle_file")):
        path = cert
    else:
        return os.urandom(32).hex().encode()
    with open(path, "rb") as f:
        return f.read()


def start_with_config(gateway, config_path, listen_host, admin_host, health_host=None):
    """Starts partner-gateway --config on free ports of the configured hosts (whether a host is
    loopback matters to the gateway's checks) and stops it once it listens.
    Returns None when it started, else why not (its exit code and stderr)."""
    process = subprocess.Popen(
        [gateway, f"--config={config_path}", f"--listen={listen_host}:0",
         f"--admin_listen={admin_host}:0"] +
        ([f"--health_listen={health_host}:0"] if health_host else []),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(30, process.kill)
    watchdog.start()
    started = False
    for line in process.stdout:
        if line.startswith("partner-gateway: listening on"):
            started = True
            break
    watchdog.cancel()
    if started:
        process.send_signal(signal.SIGTERM)
    stderr = process.stderr.read()
    code = process.wait()
    return None if started and code == 0 else f"exit {code}: {stderr.strip()}"
