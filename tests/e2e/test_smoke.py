import pytest

pytestmark = pytest.mark.e2e


def test_admin_lists_villages(system):
    admin = system.api.as_user("admin")
    response = admin.get("/villages")
    assert response.status_code == 200
    assert response.json()["total"] == 3
