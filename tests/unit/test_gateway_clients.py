import pytest

from gateway.clients import client_address

pytestmark = pytest.mark.unit


def test_without_a_trusted_proxy_the_peer_is_the_client():
    assert client_address("203.0.113.7", "198.51.100.1", 0) == "203.0.113.7"


def test_behind_an_ingress_the_address_it_appended_counts_not_the_callers_claim():
    # the client claimed 1.2.3.4; the ingress appended the real peer 203.0.113.7
    assert client_address("10.0.0.5", "1.2.3.4, 203.0.113.7", 1) == "203.0.113.7"
    assert client_address("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.9", 2) == "203.0.113.7"


def test_ipv6_counts_per_64():
    first = client_address("2001:db8:1:2::1", None, 0)
    assert first == client_address("2001:db8:1:2:ffff::9", None, 0) == "2001:db8:1:2::/64"
    assert first != client_address("2001:db8:1:3::1", None, 0)
