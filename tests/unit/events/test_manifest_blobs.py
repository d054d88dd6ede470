"""The blobs a manifest holds, read from a document nothing vouches for."""

from __future__ import annotations

from typing import Any

from gateway.events.manifest_blobs import references

A, B, C = ("sha256:" + c * 64 for c in "abc")


def test_an_image_manifest_holds_its_config_and_layers_once_each() -> None:
    document = {
        "config": {"digest": A, "size": 10},
        "layers": [{"digest": B, "size": 20}, {"digest": B, "size": 20}, {"digest": C, "size": -5}],
    }
    refs = references(document)
    assert dict(refs.blobs) == {A: 10, B: 20, C: 0} and refs.children == ()


def test_an_index_holds_its_children() -> None:
    refs = references({"manifests": [{"digest": A}, {"digest": B, "size": 3}, {"digest": A}]})
    assert refs.children == (A, B) and dict(refs.blobs) == {}


def test_schema1_layers_count_without_a_declared_size() -> None:
    assert dict(references({"fsLayers": [{"blobSum": A}, {"blobSum": "nope"}, "x"]}).blobs) == {A: 0}


def test_nonsense_holds_nothing() -> None:
    shapes: list[Any] = [
        None, [], "x", {"layers": "x"}, {"layers": [1, None, {"digest": 5}, {"digest": "sha256:short"}]},
        {"config": [{"digest": A, "size": True}]}, {"manifests": {"digest": 3}},
        {"layers": [{"digest": A, "size": 2**70}]},
    ]
    found = [references(shape) for shape in shapes]
    assert [dict(r.blobs) for r in found] == [{}, {}, {}, {}, {}, {A: 0}, {}, {A: 0}]
    assert all(r.children == () for r in found)
