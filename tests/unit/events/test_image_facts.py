"""An image manifest's size and an index's platforms, as the index records them: bad JSON,
missing or odd fields and huge lists give bounded facts, never an error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.events.capture import manifest_facts
from gateway.events.image_facts import MAX_PLATFORMS, MAX_PLATFORMS_TEXT, ImageFacts, image_facts

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _image(config_size: Any = 100, layer_sizes: tuple[Any, ...] = (1000, 2000)) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "c" * 64, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": size} for size in layer_sizes],
    }


def _entry(os_name: str, architecture: str, variant: str | None = None) -> dict[str, Any]:
    platform: dict[str, Any] = {"os": os_name, "architecture": architecture}
    if variant is not None:
        platform["variant"] = variant
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "platform": platform}


def test_an_image_manifests_size_is_its_config_and_layers() -> None:
    assert image_facts(_image()) == ImageFacts(3100, ())


def test_an_image_with_no_layers_is_its_config() -> None:
    assert image_facts(_image(layer_sizes=())).size == 100


@pytest.mark.parametrize(
    "document",
    [
        {"schemaVersion": 2},  # neither config nor layers
        {"config": {"size": 5}},  # no layer list
        {"config": {"size": 5}, "layers": "many"},
        {"layers": [{"size": 5}]},  # no config
        _image(config_size="100"),
        _image(layer_sizes=(1000, None)),
        _image(layer_sizes=(1000, -1)),
        _image(layer_sizes=(1000, 2.5)),
        _image(layer_sizes=(True,)),
        _image(layer_sizes=(2**63,)),
        _image(layer_sizes=(2**62, 2**62)),  # the sum absurd
        {"config": {"size": 5}, "layers": [7]},
    ],
)
def test_a_size_the_manifest_does_not_state_in_full_is_unknown(document: dict[str, Any]) -> None:
    assert image_facts(document).size is None


@pytest.mark.parametrize("document", [None, [], "text", 3, {}])
def test_what_is_not_a_manifest_has_no_facts(document: Any) -> None:
    assert image_facts(document) == ImageFacts()


def test_an_index_lists_its_platforms_without_attestations_or_repeats_and_has_no_size() -> None:
    index = {
        "mediaType": OCI_INDEX,
        "manifests": [
            _entry("linux", "amd64"), _entry("linux", "arm64", "v8"), _entry("unknown", "unknown"),
            _entry("linux", "amd64"), _entry("windows", "amd64"),
        ],
    }
    facts = image_facts(index)
    assert facts == ImageFacts(None, ("linux/amd64", "linux/arm64/v8", "windows/amd64"))
    assert facts.platforms_text == "linux/amd64 linux/arm64/v8 windows/amd64"


@pytest.mark.parametrize(
    "entry",
    [
        "linux/amd64", {}, {"platform": "linux"}, {"platform": {"os": "linux"}}, {"platform": {"architecture": "amd64"}},
        {"platform": {"os": "linux", "architecture": 64}}, {"platform": {"os": "", "architecture": "amd64"}},
        {"platform": {"os": "linux os", "architecture": "amd64"}},  # would split the stored text
        {"platform": {"os": "linux/x", "architecture": "amd64"}},
        {"platform": {"os": "linux", "architecture": "a" * 129}},
    ],
)
def test_an_entry_without_a_plain_os_and_architecture_is_left_out(entry: Any) -> None:
    assert image_facts({"manifests": [entry, _entry("linux", "amd64")]}).platforms == ("linux/amd64",)


def test_an_odd_variant_is_dropped_and_the_platform_kept() -> None:
    assert image_facts({"manifests": [_entry("linux", "arm", "v 7")]}).platforms == ("linux/arm",)


def test_an_index_whose_manifests_are_not_a_list_has_no_platforms() -> None:
    assert image_facts({"manifests": {"a": 1}}) == ImageFacts()
    assert image_facts({"manifests": []}).platforms_text is None


def test_a_huge_index_keeps_at_most_the_bounded_number_of_platforms() -> None:
    index = {"manifests": [_entry("linux", f"arch{i}") for i in range(10_000)]}
    kept = image_facts(index).platforms
    assert len(kept) == MAX_PLATFORMS
    assert kept[:2] == ("linux/arch0", "linux/arch1")


def test_long_platforms_stop_at_the_text_bound() -> None:
    index = {"manifests": [_entry("o" * 100, f"{i:03d}" + "a" * 100) for i in range(20)]}
    facts = image_facts(index)
    assert facts.platforms_text is not None
    assert len(facts.platforms_text) <= MAX_PLATFORMS_TEXT
    assert 0 < len(facts.platforms) < 20


def test_manifest_facts_carry_the_image_facts_and_survive_bad_json() -> None:
    assert manifest_facts(json.dumps(_image()).encode(), "").image.size == 3100
    assert manifest_facts(b"{not json", "application/vnd.oci.image.manifest.v1+json").image == ImageFacts()
    index = json.dumps({"manifests": [_entry("linux", "amd64")]}).encode()
    assert manifest_facts(index, OCI_INDEX).image.platforms == ("linux/amd64",)
