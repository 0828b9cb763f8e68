"""The event store's UUID decoding: fast for its own hex, strict for anything else."""

from __future__ import annotations

import copy
import pickle
import uuid

import pytest

from itemhub.eventstore.application import FastUUIDAsHex


def test_decodes_what_uuid_hex_encoded_to_an_equal_working_uuid() -> None:
    transcoding = FastUUIDAsHex()
    for _ in range(1000):
        original = uuid.uuid4()
        decoded = transcoding.decode(transcoding.encode(original))
        assert decoded == original
        assert hash(decoded) == hash(original)
        assert str(decoded) == str(original) and decoded.version == 4
        assert copy.deepcopy(decoded) == original
        assert pickle.loads(pickle.dumps(decoded)) == original


@pytest.mark.parametrize(
    "text",
    ["-" + "0" * 31, "_" * 32, "g" * 32, "0" * 31, "0" * 33],
)
def test_anything_but_32_hex_digits_is_refused_as_uuid_does(text: str) -> None:
    with pytest.raises(ValueError):
        uuid.UUID(text)
    with pytest.raises(ValueError):
        FastUUIDAsHex().decode(text)


def test_a_dashed_uuid_still_decodes() -> None:
    original = uuid.uuid4()
    assert FastUUIDAsHex().decode(str(original)) == original
