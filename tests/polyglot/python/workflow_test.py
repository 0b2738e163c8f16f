"""Python polyglot workflow test: the portal workflow end to end against a sandbox gateway, from a
Python client (Debian's python3-grpcio): find a customer, list its Azure subscriptions, give a
user a role, see it, revoke it; page walking; rich error details decoded from
grpc-status-details-bin."""
import os
import sys
import unittest

sys.path.insert(0, os.environ["PARTNER_PYTHON_STUBS"])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402
from gateway_process import GatewayProcess  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from partner.v1 import access_service_pb2 as access  # noqa: E402
from partner.v1 import access_service_pb2_grpc as access_grpc  # noqa: E402
from partner.v1 import customer_service_pb2 as customers  # noqa: E402
from partner.v1 import customer_service_pb2_grpc as customers_grpc  # noqa: E402
from partner.v1 import resources_pb2 as resources  # noqa: E402
from partner.v1 import subscription_service_pb2 as subscriptions  # noqa: E402
from partner.v1 import subscription_service_pb2_grpc as subscriptions_grpc  # noqa: E402

DEADLINE_S = 30


def rich_error(rpc_error):
    """Decodes google.rpc.Status from the trailers; returns (status, ErrorInfo or None)."""
    for key, value in rpc_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return status, info
            return status, None
    return None, None


class WorkflowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = GatewayProcess()
        cls.channel = grpc.insecure_channel(cls.gateway.address)
        cls.customers = customers_grpc.CustomerServiceStub(cls.channel)
        cls.subscriptions = subscriptions_grpc.SubscriptionServiceStub(cls.channel)
        cls.access = access_grpc.AccessServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.gateway.stop()

    def walk_customers(self, page_size):
        seen, token = [], ""
        while True:
            page = self.customers.ListCustomers(
                customers.ListCustomersRequest(page_size=page_size, page_token=token),
                timeout=DEADLINE_S,
            )
            self.assertLessEqual(len(page.customers), page_size)
            seen.extend(customer.customer_id for customer in page.customers)
            token = page.next_page_token
            if not token:
                return seen

    def test_pages_hold_every_customer_exactly_once(self):
        small_pages = self.walk_customers(7)
        one_page = self.walk_customers(500)
        self.assertEqual(len(small_pages), len(set(small_pages)), "a customer appeared twice")
        self.assertEqual(small_pages, one_page)
        self.assertGreater(len(one_page), 7)

    def test_assign_list_and_revoke_a_role(self):
        customer = self.customers.ListCustomers(
            customers.ListCustomersRequest(page_size=1), timeout=DEADLINE_S
        ).customers[0]
        azure = self.subscriptions.ListAzureSubscriptions(
            subscriptions.ListAzureSubscriptionsRequest(customer_id=customer.customer_id),
            timeout=DEADLINE_S,
        ).azure_subscriptions
        self.assertTrue(azure, f"customer {customer.customer_id} has no Azure subscription")
        user = self.customers.ListCustomerUsers(
            customers.ListCustomerUsersRequest(customer_id=customer.customer_id, page_size=1),
            timeout=DEADLINE_S,
        ).users[0]

        assign = access.AssignRoleRequest(
            customer_id=customer.customer_id,
            azure_subscription_id=azure[0].azure_subscription_id,
            principal=resources.Principal(user_principal_name=user.user_principal_name),
            role=resources.RoleRef(role_name="reader"),
            description="python polyglot test",
        )
        first = self.access.AssignRole(assign, timeout=DEADLINE_S)
        self.assertFalse(first.already_existed)
        self.assertEqual(first.role_assignment.principal_id, user.object_id)
        self.assertEqual(first.role_assignment.role_name, "Reader")
        again = self.access.AssignRole(assign, timeout=DEADLINE_S)
        self.assertTrue(again.already_existed)
        self.assertEqual(again.role_assignment.role_assignment_id, first.role_assignment.role_assignment_id)

        listed = self.access.ListRoleAssignments(
            access.ListRoleAssignmentsRequest(
                customer_id=customer.customer_id,
                azure_subscription_id=azure[0].azure_subscription_id,
                principal=resources.Principal(object_id=user.object_id),
            ),
            timeout=DEADLINE_S,
        )
        ids = [a.role_assignment_id for a in listed.role_assignments]
        self.assertIn(first.role_assignment.role_assignment_id, ids)

        revoke = access.RevokeRoleRequest(
            customer_id=customer.customer_id,
            role_assignment_id=first.role_assignment.role_assignment_id,
        )
        revoked = self.access.RevokeRole(revoke, timeout=DEADLINE_S)
        self.assertFalse(revoked.already_absent)
        self.assertTrue(self.access.RevokeRole(revoke, timeout=DEADLINE_S).already_absent)

    def test_bad_customer_id_carries_rich_error_details(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.customers.GetCustomer(
                customers.GetCustomerRequest(customer_id="../../customers"), timeout=DEADLINE_S
            )
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        status, info = rich_error(raised.exception)
        self.assertIsNotNone(status, "no grpc-status-details-bin trailer")
        self.assertEqual(status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIsNotNone(info, "no ErrorInfo in the status details")
        self.assertEqual(info.domain, "partner-gateway.v1")
        self.assertEqual(info.reason, "ERROR_REASON_INVALID_FIELD")
        self.assertIn("correlationId", info.metadata)

    def test_unknown_customer_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.customers.GetCustomer(
                customers.GetCustomerRequest(customer_id="00000000-0000-4000-8000-000000000001"),
                timeout=DEADLINE_S,
            )
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)


if __name__ == "__main__":
    unittest.main(verbosity=2)
