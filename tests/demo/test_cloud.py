from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from resoto_rx.demo import (
    HIERARCHY_KINDS,
    RESOURCE_KINDS,
    AccountInventory,
    CloudError,
    EdgeKind,
    Kind,
    ResourceInUseError,
    ResourceNotFoundError,
    SimulatedCloud,
    expiration_time,
)

from .builders import NOW

ALLOWED_DEPENDENCIES = {
    (Kind.INSTANCE, Kind.VOLUME),
    (Kind.LOAD_BALANCER, Kind.INSTANCE),
    (Kind.INSTANCE, Kind.SECURITY_GROUP),
    (Kind.SNAPSHOT, Kind.VOLUME),
}


def collect(cloud: SimulatedCloud) -> list[AccountInventory]:
    return [cloud.collect_account(account_id) for account_id in cloud.account_ids()]


def assert_consistent(inventory: AccountInventory) -> None:
    """Every edge connects nodes of the inventory and matches what the attributes say."""
    nodes = {node.id: node for node in inventory.nodes}
    assert len(nodes) == len(inventory.nodes), "node ids are unique"
    parents: Counter[str] = Counter()
    for edge in inventory.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        if edge.kind == EdgeKind.DEPENDS_ON:
            assert (source.kind, target.kind) in ALLOWED_DEPENDENCIES
            assert source.region == target.region
        else:
            parents[target.id] += 1
            if target.kind not in HIERARCHY_KINDS:
                assert source.kind == Kind.REGION and source.region == target.region
    for node in inventory.nodes:
        assert parents[node.id] == (0 if node.kind == Kind.CLOUD else 1), f"{node.id} has one parent"
        assert node.account in ("", inventory.account_id)
    depends = {(e.source, e.target) for e in inventory.edges if e.kind == EdgeKind.DEPENDS_ON}
    for volume in (n for n in inventory.nodes if n.kind == Kind.VOLUME):
        users = {source for source, target in depends if target == volume.id and nodes[source].kind == Kind.INSTANCE}
        attached_to = volume.attributes["attached_to"]
        assert users == ({attached_to} if attached_to else set())


def test_same_seed_gives_the_same_inventory() -> None:
    assert collect(SimulatedCloud(seed=7, now=NOW)) == collect(SimulatedCloud(seed=7, now=NOW))


def test_different_seeds_give_different_inventories() -> None:
    first, second = SimulatedCloud(seed=1, now=NOW), SimulatedCloud(seed=2, now=NOW)
    assert first.account_ids() != second.account_ids()
    assert collect(first) != collect(second)


def test_accounts_regions_and_clouds() -> None:
    cloud = SimulatedCloud(seed=3, accounts=4, regions_per_account=2, now=NOW)
    inventories = collect(cloud)
    assert len(inventories) == 4 == len(set(cloud.account_ids()))
    assert [inv.cloud for inv in inventories] == ["aws", "gcp", "aws", "gcp"]
    for inv in inventories:
        assert inv.count(Kind.CLOUD) == 1 and inv.count(Kind.ACCOUNT) == 1 and inv.count(Kind.REGION) == 2
        assert inv.collected_at == NOW


@pytest.mark.parametrize("seed", [0, 1, 42, 1234])
def test_every_kind_is_present_in_every_region(seed: int) -> None:
    for inv in collect(SimulatedCloud(seed=seed, accounts=2, regions_per_account=1, now=NOW)):
        kinds = {node.kind for node in inv.nodes}
        assert set(RESOURCE_KINDS) <= kinds
        assert_consistent(inv)


def test_created_at_spreads_over_the_last_120_days() -> None:
    resources = [n for inv in collect(SimulatedCloud(now=NOW)) for n in inv.nodes if not n.is_hierarchy]
    assert all(NOW - timedelta(days=120) <= r.created_at <= NOW for r in resources)
    assert all(r.created_at.utcoffset() == timedelta(0) for r in resources)
    ages = [(NOW - r.created_at).days for r in resources]
    assert min(ages) < 20 and max(ages) > 100


def test_tags_mix_owners_expirations_and_untagged() -> None:
    resources = [n for inv in collect(SimulatedCloud(now=NOW)) for n in inv.nodes if not n.is_hierarchy]
    assert any(not r.tags for r in resources)
    assert any("owner" in r.tags for r in resources)
    assert any(r.tags and "owner" not in r.tags for r in resources)
    expiring = [r for r in resources if {"expiration", "resoto:expires"} & r.tags.keys()]
    assert any(r.tags.get("expiration", "").endswith(("h", "d", "w", "m")) for r in expiring), "durations"
    assert any("resoto:expires" in r.tags for r in expiring), "ISO timestamps"
    parsed = [expiration_time(r.tags, r.created_at) for r in expiring]
    assert all(p is not None for p, r in zip(parsed, expiring, strict=True) if r.tags.get("expiration") != "never")
    assert any(p is not None and p <= NOW for p in parsed) and any(p is not None and p > NOW for p in parsed)


def test_instances_volumes_and_unattached_volumes_have_attributes() -> None:
    nodes = [n for inv in collect(SimulatedCloud(now=NOW)) for n in inv.nodes]
    instances = [n for n in nodes if n.kind == Kind.INSTANCE]
    volumes = [n for n in nodes if n.kind == Kind.VOLUME]
    assert all({"instance_type", "cores", "memory_gb"} <= i.attributes.keys() for i in instances)
    assert all(isinstance(v.attributes["size_gb"], int) for v in volumes)
    assert any(v.attributes["attached_to"] is None for v in volumes)
    assert any(v.attributes["attached_to"] is not None for v in volumes)


def test_collect_hands_out_copies() -> None:
    cloud = SimulatedCloud(now=NOW)
    account = cloud.account_ids()[0]
    first = cloud.collect_account(account)
    victim = next(n for n in first.nodes if n.kind == Kind.INSTANCE)
    victim.tags["owner"] = "mallory"  # type: ignore[index]  # the Mapping is a dict underneath
    assert cloud.resource(victim.id).tags.get("owner") != "mallory"


def test_unknown_account_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown account"):
        SimulatedCloud(now=NOW).collect_account("nope")


@pytest.mark.parametrize(("kwargs", "message"), [({"accounts": 0}, "account"), ({"regions_per_account": 9}, "regions")])
def test_rejects_impossible_sizes(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatedCloud(now=NOW, **kwargs)


def test_deleted_resources_disappear_from_the_next_collect() -> None:
    cloud = SimulatedCloud(now=NOW)
    account = cloud.account_ids()[0]
    before = cloud.collect_account(account)
    bucket = next(n for n in before.nodes if n.kind == Kind.BUCKET)
    cloud.delete(bucket.id)
    after = cloud.collect_account(account)
    assert bucket.id not in {n.id for n in after.nodes}
    assert all(bucket.id not in (e.source, e.target) for e in after.edges)
    assert len(after.nodes) == len(before.nodes) - 1
    with pytest.raises(ResourceNotFoundError, match="does not exist"):
        cloud.delete(bucket.id)


def test_delete_refuses_resources_in_use() -> None:
    cloud = SimulatedCloud(now=NOW)
    inv = cloud.collect_account(cloud.account_ids()[0])
    used = next(e for e in inv.edges if e.kind == EdgeKind.DEPENDS_ON)
    with pytest.raises(ResourceInUseError) as raised:
        cloud.delete(used.target)
    assert used.source in raised.value.dependents
    assert used.source in str(raised.value)
    assert used.target in cloud


def test_delete_refuses_hierarchy_nodes() -> None:
    cloud = SimulatedCloud(now=NOW)
    inv = cloud.collect_account(cloud.account_ids()[0])
    for node in inv.nodes:
        if node.is_hierarchy:
            with pytest.raises(CloudError, match="only resources can be deleted"):
                cloud.delete(node.id)


def test_deleting_an_instance_detaches_its_volumes() -> None:
    cloud = SimulatedCloud(now=NOW)
    inv = cloud.collect_account(cloud.account_ids()[0])
    balanced = {e.target for e in inv.edges if e.kind == EdgeKind.DEPENDS_ON and e.source.startswith("elb-")}
    instance = next(n for n in inv.nodes if n.kind == Kind.INSTANCE and n.id not in balanced)
    volumes = [n.id for n in inv.nodes if n.kind == Kind.VOLUME and n.attributes["attached_to"] == instance.id]
    assert volumes
    cloud.delete(instance.id)
    after = cloud.collect_account(inv.account_id)
    assert_consistent(after)
    for volume_id in volumes:
        assert cloud.resource(volume_id).attributes["attached_to"] is None
        assert all(cloud.resource(user).kind == Kind.SNAPSHOT for user in cloud.dependents(volume_id))


def test_tick_moves_the_clock_and_launches_resources_inside_the_window() -> None:
    cloud = SimulatedCloud(now=NOW)
    before = {n.id for inv in collect(cloud) for n in inv.nodes}
    created = cloud.tick(6)
    assert cloud.now == NOW + timedelta(hours=6)
    assert created and not set(created) & before
    for resource_id in created:
        assert NOW <= cloud.resource(resource_id).created_at <= cloud.now
    after = collect(cloud)
    assert {n.id for inv in after for n in inv.nodes} >= before | set(created)
    for inv in after:
        assert_consistent(inv)
        assert inv.collected_at == cloud.now


def test_ticks_are_deterministic_per_seed() -> None:
    first, second = SimulatedCloud(seed=5, now=NOW), SimulatedCloud(seed=5, now=NOW)
    assert [first.tick(2) for _ in range(5)] == [second.tick(2) for _ in range(5)]
    assert collect(first) == collect(second)


def test_tick_without_creating_only_ages() -> None:
    cloud = SimulatedCloud(now=NOW)
    count = len(cloud)
    assert cloud.tick(24, create=False) == []
    assert len(cloud) == count and cloud.now == NOW + timedelta(days=1)
    with pytest.raises(ValueError, match="forward"):
        cloud.tick(-1)


def test_many_ticks_and_deletes_keep_the_inventory_consistent() -> None:
    cloud = SimulatedCloud(seed=9, accounts=2, regions_per_account=2, now=NOW)
    for _ in range(20):
        cloud.tick(12)
        for inv in collect(cloud):
            # delete one resource nothing depends on, as a cleanup run would
            used = {e.target for e in inv.edges if e.kind == EdgeKind.DEPENDS_ON}
            leaf = next(n for n in inv.nodes if not n.is_hierarchy and n.id not in used)
            cloud.delete(leaf.id)
    for inv in collect(cloud):
        assert_consistent(inv)
