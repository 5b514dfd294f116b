"""The stream id <-> bus id mapping (no Redis needed)."""

from __future__ import annotations

import pytest

from resoto_rx.backends.ids import MAX_SEQ, bus_id, epoch_ms, is_local, stream_id


def test_round_trip_and_order() -> None:
    ids = ["1718000000000-0", "1718000000000-1", "1718000000000-999", "1718000000001-0", "4398046511103-1048575"]
    numbers = [bus_id(i) for i in ids]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert [stream_id(n) for n in numbers] == ids
    assert all(n < 2**63 and not is_local(n) for n in numbers)
    assert epoch_ms(numbers[3]) == 1718000000001
    assert bus_id(b"5-3") == bus_id("5-3")


def test_local_ids_fit_between_entries() -> None:
    entry, following = bus_id("1718000000000-4"), bus_id("1718000000000-5")
    local = entry + 1
    assert entry < local < following and is_local(local)
    assert stream_id(local) == "1718000000000-4"  # maps back to the entry it follows


def test_sequence_overflow_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        bus_id(f"1-{MAX_SEQ + 1}")
