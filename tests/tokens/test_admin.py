from __future__ import annotations

from django.urls import reverse

from prepay.tokens import actions as t
from tests.tokens.conftest import CTSA01_VK


class VendingKeyAdminTestCase:
    def test_it_lists_key_slots_without_key_material(self, client, world, store):
        [vk] = t.do_import_vending_keys(
            group=world.a1.group,
            actor=world.admin,
            rows=[
                {
                    "dkga": "02",
                    "supply_group_code": "123456",
                    "key_revision": 1,
                    "key_type": 2,
                    "key": CTSA01_VK,
                }
            ],
        )
        client.force_login(world.admin)
        for url in (
            reverse("admin:tokens_vendingkey_changelist"),
            reverse("admin:tokens_vendingkey_change", args=[vk.pk]),
        ):
            page = client.get(url)
            assert page.status_code == 200
            body = page.content.decode()
            assert "123456" in body
            assert CTSA01_VK not in body.upper() and bytes(vk.ciphertext).hex() not in body

    def test_it_hides_keys_from_other_roles_and_groups(self, client, world, store):
        t.do_import_vending_keys(
            group=world.a1.group,
            actor=world.admin,
            rows=[
                {
                    "dkga": "02",
                    "supply_group_code": "123456",
                    "key_revision": 1,
                    "key_type": 2,
                    "key": CTSA01_VK,
                }
            ],
        )
        for who in (world.cashier, world.clerk_b):
            client.force_login(who)
            page = client.get(reverse("admin:tokens_vendingkey_changelist"))
            assert page.status_code == 403 or "123456" not in page.content.decode()
