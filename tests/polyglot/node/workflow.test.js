// Node polyglot workflow test: the portal workflow end to end against a sandbox gateway from
// @grpc/grpc-js: walk customer pages, give a user a role, see it, revoke it, and decode the rich
// error details (google.rpc.Status in grpc-status-details-bin).
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { test, before, after } = require('node:test');
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const { startGateway, loadApi } = require('./gateway_process');

const DEADLINE_MS = 30000;
let gateway;
let customers;
let subscriptions;
let access;
let statusType;
let errorInfoType;

before(async () => {
  gateway = await startGateway();
  const api = loadApi();
  const insecure = grpc.credentials.createInsecure();
  customers = new api.partner.v1.CustomerService(gateway.address, insecure);
  subscriptions = new api.partner.v1.SubscriptionService(gateway.address, insecure);
  access = new api.partner.v1.AccessService(gateway.address, insecure);

  const root = new protobuf.Root();
  const protoDirs = process.env.PARTNER_PROTO_DIRS.split(':');
  root.resolvePath = (origin, target) => {
    if (target.startsWith('google/protobuf/')) return protobuf.util.path.resolve(origin, target);
    return path.join(protoDirs[0], target);
  };
  await root.load(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
  statusType = root.lookupType('google.rpc.Status');
  errorInfoType = root.lookupType('google.rpc.ErrorInfo');
});

after(async () => {
  for (const client of [customers, subscriptions, access]) client.close();
  await gateway.stop();
});

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + DEADLINE_MS }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

async function walkCustomers(pageSize) {
  const seen = [];
  let pageToken = '';
  do {
    const page = await call(customers, 'ListCustomers', { pageSize, pageToken });
    assert.ok(page.customers.length <= pageSize);
    seen.push(...page.customers.map((customer) => customer.customerId));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return seen;
}

test('pages hold every customer exactly once', async () => {
  const small = await walkCustomers(7);
  const whole = await walkCustomers(500);
  assert.equal(new Set(small).size, small.length);
  assert.deepEqual(small, whole);
  assert.ok(whole.length > 7);
});

test('assign, list and revoke a role', async () => {
  const [customer] = (await call(customers, 'ListCustomers', { pageSize: 1 })).customers;
  const { azureSubscriptions } =
    await call(subscriptions, 'ListAzureSubscriptions', { customerId: customer.customerId });
  assert.ok(azureSubscriptions.length > 0);
  const [user] = (await call(customers, 'ListCustomerUsers',
    { customerId: customer.customerId, pageSize: 1 })).users;

  const request = {
    customerId: customer.customerId,
    azureSubscriptionId: azureSubscriptions[0].azureSubscriptionId,
    principal: { userPrincipalName: user.userPrincipalName },
    role: { roleName: 'Contributor' },
    description: 'node polyglot test',
  };
  const first = await call(access, 'AssignRole', request);
  assert.equal(first.alreadyExisted, false);
  assert.equal(first.roleAssignment.principalId, user.objectId);
  const again = await call(access, 'AssignRole', request);
  assert.equal(again.alreadyExisted, true);
  assert.equal(again.roleAssignment.roleAssignmentId, first.roleAssignment.roleAssignmentId);

  const listed = await call(access, 'ListRoleAssignments', {
    customerId: customer.customerId,
    azureSubscriptionId: azureSubscriptions[0].azureSubscriptionId,
    principal: { objectId: user.objectId },
  });
  assert.ok(listed.roleAssignments.some(
    (assignment) => assignment.roleAssignmentId === first.roleAssignment.roleAssignmentId));

  const revoke = { customerId: customer.customerId,
    roleAssignmentId: first.roleAssignment.roleAssignmentId };
  assert.equal((await call(access, 'RevokeRole', revoke)).alreadyAbsent, false);
  assert.equal((await call(access, 'RevokeRole', revoke)).alreadyAbsent, true);
});

test('a bad customer id carries rich error details', async () => {
  const error = await call(customers, 'GetCustomer', { customerId: 'abc%2F..' })
    .then(() => assert.fail('GetCustomer accepted a malformed id'), (e) => e);
  assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
  const [details] = error.metadata.get('grpc-status-details-bin');
  assert.ok(details, 'no grpc-status-details-bin trailer');
  const status = statusType.decode(details);
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  const info = status.details
    .filter((any) => any.type_url.endsWith('/google.rpc.ErrorInfo'))
    .map((any) => errorInfoType.decode(any.value))[0];
  assert.ok(info, 'no ErrorInfo among the details');
  assert.equal(info.domain, 'partner-gateway.v1');
  assert.equal(info.reason, 'ERROR_REASON_INVALID_FIELD');
  assert.ok(info.metadata.correlationId);
});

// protobufjs writes a short string's lone surrogate as it is (ED A0 80): invalid UTF-8 on the
// wire, which proto3 cannot parse.
test('a lone surrogate is INVALID_ARGUMENT naming the field', async () => {
  const error = await call(customers, 'GetCustomer', { customerId: 'abc\uD800' })
    .then(() => assert.fail('GetCustomer accepted invalid UTF-8'), (e) => e);
  assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(error.details, 'customer_id: not valid UTF-8');
});
