"""Starts `partner-gateway --sandbox` on an ephemeral loopback port for a test, and stops it.

The binary comes from $PARTNER_GATEWAY (set by ctest). The gateway prints
`partner-gateway: listening on HOST:PORT ...` as its first line on stdout once it serves.
"""
import os
import re
import subprocess
import threading

_LISTENING = re.compile(r"^partner-gateway: listening on (\S+):(\d+)\b")


class GatewayProcess:
    def __init__(self, *extra_args, startup_timeout_s=60):
        binary = os.environ["PARTNER_GATEWAY"]
        self._process = subprocess.Popen(
            [binary, "--sandbox", "--listen", "127.0.0.1:0", *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr_lines = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.address = self._await_listening(startup_timeout_s)

    def _drain_stderr(self):
        for line in self._process.stderr:
            self.stderr_lines.append(line)

    def _await_listening(self, timeout_s):
        result = {}
        found = threading.Event()

        def read_banner():
            for line in self._process.stdout:
                match = _LISTENING.match(line)
                if match:
                    result["address"] = f"{match.group(1)}:{match.group(2)}"
                    found.set()
                    break
            found.set()
            # Keep draining so the gateway never blocks on a full stdout pipe.
            for _ in self._process.stdout:
                pass

        threading.Thread(target=read_banner, daemon=True).start()
        found.wait(timeout_s)
        if "address" not in result:
            self.stop()
            raise RuntimeError(
                "gateway did not report its listening address; stderr:\n" + "".join(self.stderr_lines)
            )
        return result["address"]

    def stop(self):
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
