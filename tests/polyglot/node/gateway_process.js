// Starts `partner-gateway --sandbox` on an ephemeral loopback port ($PARTNER_GATEWAY is the binary,
// set by ctest), and loads the API protos ($PARTNER_PROTO_DIRS) for @grpc/grpc-js.
'use strict';

const { spawn } = require('node:child_process');
const readline = require('node:readline');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const LISTENING = /^partner-gateway: listening on (\S+):(\d+)\b/;

function startGateway(extraArgs = [], timeoutMs = 60000) {
  const child = spawn(process.env.PARTNER_GATEWAY,
    ['--sandbox', '--listen', '127.0.0.1:0', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not report its address; stderr:\n${stderr}`));
    }, timeoutMs);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = LISTENING.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        address: `${match[1]}:${match[2]}`,
        stop: () => { child.kill('SIGTERM'); return exited; },
      });
    });
  });
}

function loadApi() {
  const includeDirs = process.env.PARTNER_PROTO_DIRS.split(':');
  const definition = protoLoader.loadSync([
    'partner/v1/customer_service.proto',
    'partner/v1/subscription_service.proto',
    'partner/v1/access_service.proto',
    'google/rpc/status.proto',
    'google/rpc/error_details.proto',
    'grpc_wire/health.proto',
  ], { includeDirs, keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  return grpc.loadPackageDefinition(definition);
}

module.exports = { startGateway, loadApi };
