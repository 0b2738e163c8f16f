// Node polyglot smoke test: @grpc/grpc-js with @grpc/proto-loader loads the API protos at run time
// and reaches a sandbox gateway (health, and the API's own services).
'use strict';

const assert = require('node:assert/strict');
const { test, before, after } = require('node:test');
const grpc = require('@grpc/grpc-js');
const { startGateway, loadApi } = require('./gateway_process');

let gateway;
let api;

before(async () => {
  gateway = await startGateway();
  api = loadApi();
});

after(async () => {
  const exitCode = await gateway.stop();
  assert.equal(exitCode, 0, 'gateway exits 0 on SIGTERM');
});

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 10000 }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

test('health reports SERVING', async () => {
  const client = new api.grpc.health.v1.Health(gateway.address, grpc.credentials.createInsecure());
  const response = await unary(client, 'Check', { service: '' });
  assert.equal(response.status, 'SERVING');
  client.close();
});

test('an API RPC answers from the sandbox emulator', async () => {
  const client = new api.partner.v1.CustomerService(
    gateway.address, grpc.credentials.createInsecure());
  const page = await unary(client, 'ListCustomers', { pageSize: 10 });
  assert.equal(page.customers.length, 10);
  assert.ok(page.nextPageToken, 'the sandbox has more than 10 customers');
  client.close();
});
