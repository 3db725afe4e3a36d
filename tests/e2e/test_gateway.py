"""The gateway holds the network rule: the nodes stay on the internal network alone; the gateway's other network
publishes one random loopback port and does not masquerade; its kernel forwards nothing; it reaches only the
topology's nodes; it is labelled and removed with the topology."""

from __future__ import annotations

import errno

import pytest

from harness import MailTopology
from harness.engine import labels
from harness.engine.docker import client


def test_the_gateway_is_on_the_rule_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILHARNESS_ACCESS_HOST", raising=False)
    world = MailTopology(access="gateway").start()
    try:
        assert world.access.mode == "gateway" and world.access.tunnel is not None
        api = client().api
        [gw] = api.containers(filters={"label": [f"{labels.TOPOLOGY}={world.id}", f"{labels.NODE}=gateway"]})
        attrs = api.inspect_container(gw["Id"])
        assert attrs["Config"]["Labels"][labels.WORKER] == labels.worker_id()
        assert attrs["HostConfig"]["Sysctls"]["net.ipv4.ip_forward"] == "0"
        nets = attrs["NetworkSettings"]["Networks"]
        assert set(nets) == {world.network_name, f"mailharness-{world.id}-gateway-publish"}
        publish = api.inspect_network(f"mailharness-{world.id}-gateway-publish")
        assert publish["Internal"] is False and publish["Labels"][labels.TOPOLOGY] == world.id
        assert publish["Options"]["com.docker.network.bridge.enable_ip_masquerade"] == "false"
        assert api.inspect_network(world.network_name)["Internal"] is True
        [binding] = attrs["NetworkSettings"]["Ports"]["2525/tcp"]
        assert binding["HostIp"] == "127.0.0.1" and int(binding["HostPort"]) == world.access.tunnel.port
        for node in world.nodes.values():  # the nodes have the internal network alone
            node_nets = api.inspect_container(node.id)["NetworkSettings"]["Networks"]
            assert list(node_nets) == [world.network_name], node.name
        with world.node("library").connect(25) as s:
            assert s.recv(100).startswith(b"220 mx.library.example")
        with pytest.raises(OSError) as info:  # anything but the topology's nodes is refused by the gateway itself
            world.access.connect("1.1.1.1", 53, 2)
        assert info.value.errno == errno.EACCES
    finally:
        world.stop()
    left = client().api.containers(all=True, filters={"label": [f"{labels.TOPOLOGY}={world.id}"]})
    assert left == [] and client().api.networks(filters={"label": [f"{labels.TOPOLOGY}={world.id}"]}) == []
