import pytest

from tests.helpers import EventTap, rpc_as, wait_for

pytestmark = pytest.mark.service


def test_register_township_and_village_publishes_events(registry, registry_config):
    tap = EventTap(registry_config["AMQP_URI"], ("registry",))
    with rpc_as(registry_config) as rpc:
        rpc.registry.register_township(data={"code": "431102102", "name": "富家桥镇",
                                             "kind": "township"})
        village = rpc.registry.register_village(data={
            "code": "431102102016", "name": "石烟塘村", "township_code": "431102102",
            "pilot": True, "consultation_room": "石烟塘村协商议事室"})
        assert village["township_name"] == "富家桥镇"
        page = rpc.registry.list_villages(query={"q": "石烟"})
    assert page["total"] == 1
    assert wait_for(lambda: len(tap.drain()) >= 2)
    assert tap.types() == ["township.registered", "village.registered"]
