"""Pure parts of the operator's tooling: topic patterns, subscription discovery, broker URLs."""

import pytest

from services.chassis.operations import (
    Subscription,
    find_subscriptions,
    management_url_for,
    topic_matches,
    vhost_of,
)
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from services.registry.service import RegistryService

pytestmark = pytest.mark.unit


class Agency(ObservableService):
    name = "agency"

    @subscribe("petitions", "petition.*")
    def on_petition(self, envelope):
        pass

    @subscribe("registry", "#")
    def on_anything(self, envelope):
        pass

    def helper(self):
        pass


@pytest.mark.parametrize(("pattern", "key", "expected"), [
    ("#", "village.registered", True),
    ("village.*", "village.registered", True),
    ("village.*", "village", False),
    ("village.*", "village.registered.again", False),
    ("*.registered", "person.registered", True),
    ("#.registered", "registered", True),
    ("#.registered", "a.b.registered", True),
    ("village.#", "village", True),
    ("village.registered", "village.updated", False),
    ("a.#.z", "a.z", True),
    ("a.#.z", "a.b.c.z", True),
    ("a.#.z", "a.b.c", False),
])
def test_topic_patterns_follow_amqp_rules(pattern, key, expected):
    assert topic_matches(pattern, key) is expected


def test_subscriptions_are_found_on_the_service_classes():
    found = find_subscriptions([Agency, RegistryService])
    assert found == [
        Subscription("agency", "on_anything", "registry", "#"),
        Subscription("agency", "on_petition", "petitions", "petition.*"),
    ]
    assert found[1].queue == "petitions.events--agency.on_petition"


def test_broker_urls():
    uri = "pyamqp://ops:s3cret@rabbitmq:5672/yuelihui"
    assert management_url_for(uri) == "http://ops:s3cret@rabbitmq:15672"
    assert vhost_of(uri) == "yuelihui"
    assert vhost_of("amqp://guest:guest@localhost:5672/") == "/"
    assert vhost_of("amqp://guest:guest@localhost:5672/%2F") == "/"
