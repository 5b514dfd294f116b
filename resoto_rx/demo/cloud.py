"""A deterministic, seeded simulation of the provider side of a few cloud accounts.

The provider state is a dict of ``Resource`` per account. Relations live in the resources'
attributes, the way a provider API reports them (a volume says which instance it is
``attached_to``, an instance lists its ``security_groups``, a load balancer its ``backends``,
a snapshot its ``volume_id``). ``collect_account`` derives the graph edges from those attributes
each time, so a collect always reflects the current state: deleted resources are simply gone.

All randomness comes from one ``random.Random(seed)``: the same seed and the same sequence of
calls give the same ids, tags and timestamps. Times are relative to ``now``, which only moves
when ``tick`` is called.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from resoto_rx.demo.model import AccountInventory, AttributeValue, Edge, EdgeKind, Kind, Resource, as_utc

CLOUD_REGIONS: dict[str, tuple[str, ...]] = {
    "aws": ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-southeast-1"),
    "gcp": ("us-central1", "europe-west1", "asia-east1", "us-east4"),
}
# (type, cores, memory GiB)
INSTANCE_TYPES: dict[str, tuple[tuple[str, int, float], ...]] = {
    "aws": (
        ("t3.micro", 2, 1.0),
        ("t3.large", 2, 8.0),
        ("m5.xlarge", 4, 16.0),
        ("m5.2xlarge", 8, 32.0),
        ("c5.4xlarge", 16, 32.0),
        ("r5.large", 2, 16.0),
    ),
    "gcp": (
        ("e2-small", 2, 2.0),
        ("e2-standard-4", 4, 16.0),
        ("n2-standard-8", 8, 32.0),
        ("n2-highmem-4", 4, 32.0),
        ("c2-standard-16", 16, 64.0),
    ),
}
ID_PREFIXES: dict[str, dict[Kind, str]] = {
    "aws": {
        Kind.INSTANCE: "i-",
        Kind.VOLUME: "vol-",
        Kind.SECURITY_GROUP: "sg-",
        Kind.SNAPSHOT: "snap-",
        Kind.LOAD_BALANCER: "elb-",
        Kind.BUCKET: "s3-",
    },
    "gcp": {
        Kind.INSTANCE: "gce-",
        Kind.VOLUME: "pd-",
        Kind.SECURITY_GROUP: "fw-",
        Kind.SNAPSHOT: "gsnap-",
        Kind.LOAD_BALANCER: "glb-",
        Kind.BUCKET: "gcs-",
    },
}
ACCOUNT_PURPOSES = ("prod", "staging", "dev", "sandbox", "data", "ml")
OWNERS = ("alice", "bob", "carol", "dave", "erin", "platform-team")
ROLES = ("web", "api", "worker", "db", "batch", "ci-runner")
EXPIRATION_DURATIONS = ("12h", "36h", "2d", "7d", "14d", "30d", "3w", "1d12h", "90m")
HISTORY_DAYS = 120  # resources are created over this many days before the initial `now`


class CloudError(Exception):
    """A provider-side operation was refused."""


class ResourceNotFoundError(CloudError):
    def __init__(self, resource_id: str) -> None:
        super().__init__(f"resource {resource_id!r} does not exist (never created or already deleted)")
        self.resource_id = resource_id


class ResourceInUseError(CloudError):
    def __init__(self, resource_id: str, dependents: list[str]) -> None:
        super().__init__(f"resource {resource_id!r} is still used by {', '.join(dependents)}; delete those first")
        self.resource_id = resource_id
        self.dependents = dependents


@dataclass
class _Account:
    id: str
    name: str
    cloud: str
    regions: tuple[str, ...]
    created_at: datetime
    resources: dict[str, Resource] = field(default_factory=dict)


def dependency_edges(resource: Resource) -> Iterator[tuple[str, str]]:
    """(dependent, dependency) pairs implied by one resource's attributes; may name resources that are gone."""
    attrs = resource.attributes
    attached_to = attrs.get("attached_to")
    if resource.kind == Kind.VOLUME and isinstance(attached_to, str):
        yield attached_to, resource.id
    for key in ("security_groups", "backends"):
        targets = attrs.get(key)
        if isinstance(targets, tuple):
            for target in targets:
                yield resource.id, target
    volume_id = attrs.get("volume_id")
    if resource.kind == Kind.SNAPSHOT and isinstance(volume_id, str):
        yield resource.id, volume_id


class SimulatedCloud:
    """Provider-side inventory of ``accounts`` accounts (alternating aws/gcp), each in ``regions_per_account``
    regions, with instances, volumes, load balancers, security groups, snapshots and buckets."""

    def __init__(
        self, seed: int = 42, accounts: int = 3, regions_per_account: int = 3, now: datetime | None = None
    ) -> None:
        if accounts < 1:
            raise ValueError(f"need at least 1 account, got {accounts}")
        max_regions = min(len(regions) for regions in CLOUD_REGIONS.values())
        if not 1 <= regions_per_account <= max_regions:
            raise ValueError(f"regions_per_account must be between 1 and {max_regions}, got {regions_per_account}")
        self.seed = seed
        self._rng = random.Random(seed)
        # Without an explicit `now` the demo looks current; the whole state is still relative to it.
        self._now = as_utc(now) if now is not None else datetime.now(UTC).replace(microsecond=0)
        self._accounts: dict[str, _Account] = {}
        self._account_of: dict[str, str] = {}  # resource id -> account id, for delete by id
        self._issued_ids: set[str] = set()
        self._cloud_created_at = {cloud: self._now - timedelta(days=3000) for cloud in CLOUD_REGIONS}
        clouds = list(CLOUD_REGIONS)
        for index in range(accounts):
            cloud = clouds[index % len(clouds)]
            account = self._new_account(cloud, index, regions_per_account)
            for region in account.regions:
                self._populate_region(account, region)

    # ------------------------------------------------------------------ queries

    @property
    def now(self) -> datetime:
        return self._now

    def account_ids(self) -> list[str]:
        return list(self._accounts)

    def cloud_of(self, account_id: str) -> str:
        """The cloud ("aws", "gcp") an account belongs to."""
        return self._accounts[account_id].cloud

    def __contains__(self, resource_id: object) -> bool:
        return resource_id in self._account_of

    def __len__(self) -> int:
        return len(self._account_of)

    def resource(self, resource_id: str) -> Resource:
        account_id = self._account_of.get(resource_id)
        if account_id is None:
            raise ResourceNotFoundError(resource_id)
        return self._accounts[account_id].resources[resource_id]

    def dependents(self, resource_id: str) -> list[str]:
        """Existing resources that use ``resource_id`` and so keep it from being deleted."""
        account = self._accounts[self.resource(resource_id).account]
        found = {
            source
            for resource in account.resources.values()
            for source, target in dependency_edges(resource)
            if target == resource_id and source in account.resources
        }
        return sorted(found)

    def collect_account(self, account_id: str) -> AccountInventory:
        """Nodes and edges of one account, freshly built from the current provider state."""
        account = self._accounts.get(account_id)
        if account is None:
            raise KeyError(f"unknown account {account_id!r}; known: {', '.join(self._accounts)}")
        cloud_node = Resource(
            account.cloud, Kind.CLOUD, account.cloud, account.cloud, "", "", self._cloud_created_at[account.cloud]
        )
        account_node = Resource(
            account.id, Kind.ACCOUNT, account.name, account.cloud, account.id, "", account.created_at
        )
        nodes: list[Resource] = [cloud_node, account_node]
        edges: list[Edge] = [Edge(cloud_node.id, account.id, EdgeKind.CONTAINS)]
        for region in account.regions:
            region_id = _region_id(account.id, region)
            nodes.append(
                Resource(region_id, Kind.REGION, region, account.cloud, account.id, region, account.created_at)
            )
            edges.append(Edge(account.id, region_id, EdgeKind.CONTAINS))
        for resource in account.resources.values():
            # Copies, so a consumer mutating its tags/attributes cannot reach the provider state.
            nodes.append(replace(resource, tags=dict(resource.tags), attributes=dict(resource.attributes)))
            edges.append(Edge(_region_id(account.id, resource.region), resource.id, EdgeKind.CONTAINS))
            edges.extend(
                Edge(source, target, EdgeKind.DEPENDS_ON)
                for source, target in dependency_edges(resource)
                if source in account.resources and target in account.resources
            )
        return AccountInventory(account.id, account.cloud, self._now, tuple(nodes), tuple(edges))

    # ------------------------------------------------------------------ mutations

    def delete(self, resource_id: str) -> None:
        """Delete like a provider API would: refuse unknown ids and resources something still uses."""
        account_id = self._account_of.get(resource_id)
        if account_id is None:
            if self._is_hierarchy_id(resource_id):
                raise CloudError(f"{resource_id!r} is a cloud, account or region; only resources can be deleted")
            raise ResourceNotFoundError(resource_id)
        dependents = self.dependents(resource_id)
        if dependents:
            raise ResourceInUseError(resource_id, dependents)
        account = self._accounts[account_id]
        deleted = account.resources.pop(resource_id)
        del self._account_of[resource_id]
        if deleted.kind == Kind.INSTANCE:
            # Terminating an instance detaches its volumes; they stay behind, unattached.
            for volume in list(account.resources.values()):
                if volume.kind == Kind.VOLUME and volume.attributes.get("attached_to") == resource_id:
                    self._store(account, replace(volume, attributes={**volume.attributes, "attached_to": None}))

    def tick(self, hours: float, create: bool = True) -> list[str]:
        """Advance the clock by ``hours`` and (unless ``create`` is false) launch a few new resources,
        created within the elapsed window. Returns the ids of the new resources."""
        if hours < 0:
            raise ValueError(f"time only moves forward, got hours={hours}")
        start = self._now
        self._now = start + timedelta(hours=hours)
        if not create:
            return []
        before = set(self._account_of)
        for _ in range(self._rng.randint(1, 3)):
            account = self._accounts[self._rng.choice(list(self._accounts))]
            region = self._rng.choice(account.regions)
            created_at = self._between(start, self._now)
            kind = self._rng.choice((Kind.INSTANCE, Kind.VOLUME, Kind.SNAPSHOT, Kind.BUCKET))
            in_region = [r for r in account.resources.values() if r.region == region]
            if kind == Kind.INSTANCE:
                groups = [r.id for r in in_region if r.kind == Kind.SECURITY_GROUP]
                if not groups:
                    groups = [self._new_security_group(account, region, created_at).id]
                self._new_instance(account, region, created_at, groups)
            elif kind == Kind.SNAPSHOT and any(r.kind == Kind.VOLUME for r in in_region):
                volume = self._rng.choice([r for r in in_region if r.kind == Kind.VOLUME])
                self._new_snapshot(account, volume, max(created_at, volume.created_at))
            elif kind == Kind.BUCKET:
                self._new_bucket(account, region, created_at)
            else:  # a volume, or a snapshot request in a region that has no volume left to snapshot
                self._new_volume(account, region, created_at, self._tags(created_at))
        return [resource_id for resource_id in self._account_of if resource_id not in before]

    # ------------------------------------------------------------------ generation

    def _new_account(self, cloud: str, index: int, regions_per_account: int) -> _Account:
        rng = self._rng
        purpose = ACCOUNT_PURPOSES[index % len(ACCOUNT_PURPOSES)]
        if cloud == "aws":
            account_id = "".join(rng.choice("0123456789") for _ in range(12))
        else:
            codename = rng.choice(("atlas", "borealis", "cobalt", "delta"))
            account_id = f"{purpose}-{codename}-{rng.randint(100000, 999999)}"
        regions = tuple(rng.sample(CLOUD_REGIONS[cloud], regions_per_account))
        created_at = self._now - timedelta(days=rng.randint(200, 900))
        account = _Account(account_id, f"{cloud}-{purpose}", cloud, regions, created_at)
        self._accounts[account_id] = account
        return account

    def _populate_region(self, account: _Account, region: str) -> None:
        rng = self._rng
        start = self._now - timedelta(days=HISTORY_DAYS)
        # Every kind appears at least once per region, so small simulations still cover all planners.
        groups = [
            self._new_security_group(account, region, self._between(start, self._now)) for _ in range(rng.randint(1, 3))
        ]
        instances = [
            self._new_instance(
                account,
                region,
                self._between(start, self._now),
                [g.id for g in rng.sample(groups, rng.randint(1, len(groups)))],
            )
            for _ in range(rng.randint(2, 5))
        ]
        for _ in range(rng.randint(1, 3)):
            created_at = self._between(start, self._now)
            self._new_volume(account, region, created_at, self._tags(created_at))
        volumes = [r for r in account.resources.values() if r.region == region and r.kind == Kind.VOLUME]
        for volume in rng.sample(volumes, rng.randint(1, min(3, len(volumes)))):
            self._new_snapshot(account, volume, self._between(volume.created_at, self._now))
        for _ in range(rng.randint(1, 2)):
            backends = rng.sample(instances, rng.randint(1, min(3, len(instances))))
            newest = max(instance.created_at for instance in backends)
            self._new_load_balancer(account, region, self._between(newest, self._now), [b.id for b in backends])
        for _ in range(rng.randint(1, 2)):
            self._new_bucket(account, region, self._between(start, self._now))

    def _new_security_group(self, account: _Account, region: str, created_at: datetime) -> Resource:
        name = self._rng.choice(("default", "web", "ssh", "internal", "db"))
        attrs: dict[str, AttributeValue] = {"ingress_rules": self._rng.randint(1, 12)}
        return self._add(account, Kind.SECURITY_GROUP, f"{name}-sg", region, created_at, self._tags(created_at), attrs)

    def _new_instance(self, account: _Account, region: str, created_at: datetime, groups: list[str]) -> Resource:
        rng = self._rng
        instance_type, cores, memory_gb = rng.choice(INSTANCE_TYPES[account.cloud])
        tags = self._tags(created_at)
        attrs: dict[str, AttributeValue] = {
            "instance_type": instance_type,
            "cores": cores,
            "memory_gb": memory_gb,
            "status": rng.choice(("running", "running", "running", "stopped")),
            "security_groups": tuple(sorted(groups)),
        }
        name = f"{rng.choice(ROLES)}-{rng.randint(1, 99):02d}"
        instance = self._add(account, Kind.INSTANCE, name, region, created_at, tags, attrs)
        # The root volume is launched with the instance and inherits its tags; some get a data volume too.
        for suffix in ("root",) if rng.random() < 0.6 else ("root", "data"):
            self._new_volume(account, region, created_at, dict(tags), instance.id, f"{name}-{suffix}")
        return instance

    def _new_volume(
        self,
        account: _Account,
        region: str,
        created_at: datetime,
        tags: dict[str, str],
        attached_to: str | None = None,
        name: str | None = None,
    ) -> Resource:
        rng = self._rng
        volume_type = rng.choice(("gp3", "gp2", "io2") if account.cloud == "aws" else ("pd-standard", "pd-ssd"))
        attrs: dict[str, AttributeValue] = {
            "size_gb": rng.choice((8, 20, 50, 100, 250, 500, 1000)),
            "volume_type": volume_type,
            "attached_to": attached_to,
        }
        name = name or f"{rng.choice(ROLES)}-scratch-{rng.randint(1, 99):02d}"
        return self._add(account, Kind.VOLUME, name, region, created_at, tags, attrs)

    def _new_snapshot(self, account: _Account, volume: Resource, created_at: datetime) -> Resource:
        attrs: dict[str, AttributeValue] = {"volume_id": volume.id, "size_gb": volume.attributes.get("size_gb")}
        tags = self._tags(created_at)
        return self._add(account, Kind.SNAPSHOT, f"{volume.name}-backup", volume.region, created_at, tags, attrs)

    def _new_load_balancer(self, account: _Account, region: str, created_at: datetime, backends: list[str]) -> Resource:
        lb_type = self._rng.choice(("application", "network") if account.cloud == "aws" else ("http", "tcp"))
        attrs: dict[str, AttributeValue] = {"lb_type": lb_type, "backends": tuple(sorted(backends))}
        name = f"{self._rng.choice(ROLES)}-lb"
        return self._add(account, Kind.LOAD_BALANCER, name, region, created_at, self._tags(created_at), attrs)

    def _new_bucket(self, account: _Account, region: str, created_at: datetime) -> Resource:
        rng = self._rng
        attrs: dict[str, AttributeValue] = {
            "storage_gb": round(rng.uniform(0.1, 5000.0), 1),
            "versioning": rng.random() < 0.3,
        }
        name = f"{account.name}-{rng.choice(('logs', 'assets', 'backups', 'datalake', 'tmp'))}-{rng.randint(100, 999)}"
        return self._add(account, Kind.BUCKET, name, region, created_at, self._tags(created_at), attrs)

    def _add(
        self,
        account: _Account,
        kind: Kind,
        name: str,
        region: str,
        created_at: datetime,
        tags: dict[str, str],
        attributes: dict[str, AttributeValue],
    ) -> Resource:
        resource_id = self._new_id(account.cloud, kind)
        resource = Resource(resource_id, kind, name, account.cloud, account.id, region, created_at, tags, attributes)
        self._store(account, resource)
        return resource

    def _store(self, account: _Account, resource: Resource) -> None:
        account.resources[resource.id] = resource
        self._account_of[resource.id] = account.id

    def _is_hierarchy_id(self, node_id: str) -> bool:
        accounts = self._accounts.values()
        region_ids = (_region_id(account.id, region) for account in accounts for region in account.regions)
        return node_id in CLOUD_REGIONS or node_id in self._accounts or node_id in region_ids

    def _new_id(self, cloud: str, kind: Kind) -> str:
        while True:
            # Ids are never reused, not even those of deleted resources, as with real providers.
            candidate = f"{ID_PREFIXES[cloud][kind]}{self._rng.getrandbits(48):012x}"
            if candidate not in self._issued_ids:
                self._issued_ids.add(candidate)
                return candidate

    def _tags(self, created_at: datetime) -> dict[str, str]:
        """A realistic tag mix: a quarter untagged, most of the rest owned, some with an expiration."""
        rng = self._rng
        if rng.random() < 0.25:
            return {}
        tags: dict[str, str] = {}
        if rng.random() < 0.75:
            tags["owner"] = rng.choice(OWNERS)
        if rng.random() < 0.6:
            tags["env"] = rng.choice(("prod", "staging", "dev"))
        roll = rng.random()
        if roll < 0.12:
            tags["expiration"] = rng.choice(EXPIRATION_DURATIONS)
        elif roll < 0.18:
            expires = created_at + timedelta(days=rng.randint(1, 90))
            tags["resoto:expires"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif roll < 0.22:
            tags["expiration"] = (created_at + timedelta(days=rng.randint(1, 90))).date().isoformat()
        elif roll < 0.23:
            tags["expiration"] = "never"  # not a valid value; planners must ignore it, not fail
        return tags

    def _between(self, start: datetime, end: datetime) -> datetime:
        span = max((end - start).total_seconds(), 0.0)
        return (start + timedelta(seconds=self._rng.uniform(0.0, span))).replace(microsecond=0)


def _region_id(account_id: str, region: str) -> str:
    return f"{account_id}:{region}"
