"""Customers in the back office: create (do_create_customer), edit (do_save_record), open account."""

from __future__ import annotations

from prepay.audit.models import AuditEvent
from prepay.customers.models import Account, Customer
from prepay.tenancy.choices import Role
from tests import factories as f


def customer_data(w, **kw):
    return {
        "site": w.site.pk,
        "number": kw.get("number", "C-NEW"),
        "name": kw.get("name", "Wang Wu"),
        "customer_type": kw.get("ctype", w.ctype).pk,
        "phone": "13700000000",
        "id_number": "",
        "email": "",
        "address": "",
    }


class CreateCustomerTestCase:
    def test_it_registers_a_customer_through_the_action(self, world, login):
        response = login(world.clerk).post("/admin/customers/customer/add/", customer_data(world.a1))
        assert response.status_code == 302
        c = Customer.objects.get(number="C-NEW")
        assert c.site == world.a1.site
        assert AuditEvent.objects.filter(verb="customer.create", object_id=str(c.pk)).exists()

    def test_it_shows_a_duplicate_number_on_the_form(self, world, login):
        f.customer(world.a1, number="C-NEW")
        response = login(world.clerk).post("/admin/customers/customer/add/", customer_data(world.a1))
        assert response.status_code == 200
        assert Customer.objects.filter(number="C-NEW").count() == 1

    def test_it_shows_the_action_refusal_and_writes_nothing(self, world, login):
        # A clerk of two groups could pick a customer type of the other group: the action refuses it.
        from prepay.tenancy.models import Membership

        Membership.objects.create(user=world.clerk, group=world.b1.group, site=world.b1.site, role=Role.CLERK)
        before = AuditEvent.objects.count()
        response = login(world.clerk).post(
            "/admin/customers/customer/add/", customer_data(world.a1, ctype=world.b1.ctype)
        )
        assert response.status_code == 400
        assert b"The customer type belongs to another group." in response.content
        assert not Customer.objects.filter(number="C-NEW").exists()
        assert AuditEvent.objects.count() == before

    def test_it_refuses_a_cashier(self, world, login):
        client = login(world.cashier)
        assert client.get("/admin/customers/customer/add/").status_code == 403
        assert client.post("/admin/customers/customer/add/", customer_data(world.a1)).status_code == 403

    def test_it_refuses_a_site_the_clerk_does_not_work_at(self, world, login):
        response = login(world.clerk).post("/admin/customers/customer/add/", customer_data(world.a2))
        assert response.status_code == 200
        assert not Customer.objects.filter(number="C-NEW").exists()

    def test_it_edits_a_customer_with_an_audit_event(self, world, login):
        c = f.customer(world.a1)
        data = customer_data(world.a1, number=c.number, name="New Name")
        del data["site"]
        assert login(world.clerk).post(f"/admin/customers/customer/{c.pk}/change/", data).status_code == 302
        c.refresh_from_db()
        assert c.name == "New Name"
        assert AuditEvent.objects.filter(verb="customer.update", object_id=str(c.pk)).exists()

    def test_it_gives_an_outsider_404(self, world, login):
        c = f.customer(world.a1)
        assert login(world.clerk_a2).get(f"/admin/customers/customer/{c.pk}/change/").status_code == 404
        assert login(world.clerk_b).get(f"/admin/customers/customer/{c.pk}/change/").status_code == 404


class OpenAccountScreenTestCase:
    def url(self, c):
        return f"/admin/customers/customer/{c.pk}/open-account/"

    def data(self, w, unit=None, **kw):
        return {
            "unit": (unit or w.units[1]).pk,
            "utility": kw.get("utility", "electricity"),
            "mode": "local",
            "billing": "prepaid",
            "tariff": kw.get("tariff", ""),
            "idempotency_key": "k1",
        }

    def test_it_offers_the_button_to_a_clerk_only(self, world, login):
        c = f.customer(world.a1)
        assert (
            self.url(c).encode()
            in login(world.clerk).get(f"/admin/customers/customer/{c.pk}/change/").content
        )
        assert (
            self.url(c).encode()
            not in login(world.cashier).get(f"/admin/customers/customer/{c.pk}/change/").content
        )

    def test_it_opens_an_account(self, world, login):
        c = f.customer(world.a1)
        response = login(world.clerk).post(self.url(c), self.data(world.a1))
        account = Account.objects.get(customer=c)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/customers/account/{account.pk}/change/"
        assert AuditEvent.objects.filter(verb="account.open").exists()

    def test_it_shows_a_taken_unit_on_the_form(self, world, login):
        f.account(world.a1, unit=world.a1.units[1])
        c = f.customer(world.a1)
        response = login(world.clerk).post(self.url(c), self.data(world.a1))
        assert response.status_code == 400
        assert b"already has an open" in response.content
        assert not Account.objects.filter(customer=c).exists()

    def test_it_shows_a_wrong_utility_tariff_on_the_form(self, world, login):
        c = f.customer(world.a1)
        response = login(world.clerk).post(self.url(c), self.data(world.a1, tariff=world.a1.water_tariff.pk))
        assert response.status_code == 400
        assert b"is not one of this site" in response.content

    def test_it_refuses_a_unit_of_another_site_as_a_choice(self, world, login):
        c = f.customer(world.a1)
        response = login(world.clerk).post(self.url(c), self.data(world.a1, unit=world.a2.units[0]))
        assert response.status_code == 200
        assert b"Select a valid choice" in response.content

    def test_it_refuses_a_wrong_role(self, world, login):
        c = f.customer(world.a1)
        assert login(world.cashier).get(self.url(c)).status_code == 403
        assert login(world.admin).post(self.url(c), self.data(world.a1)).status_code == 403
        assert not Account.objects.filter(customer=c).exists()

    def test_it_gives_an_outsider_404(self, world, login):
        c = f.customer(world.a1)
        assert login(world.clerk_a2).post(self.url(c), self.data(world.a1)).status_code == 404
        assert login(world.clerk_b).get(self.url(c)).status_code == 404
