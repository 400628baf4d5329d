class NavigationTestCase:
    def test_it_links_import_only_for_users_who_may_import(self, client, world):
        client.force_login(world.clerk)
        assert b"/import/" in client.get("/").content
        client.force_login(world.cashier)
        assert b"/import/" not in client.get("/").content
