"""One GPU per local job (mvprepro.gpu): concurrent jobs get distinct devices, a job waits
when all are taken, and a killed job's device is free again at once. No GPU is needed: the
module only takes locks and sets CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from helpers import REPO

from mvprepro import cli, gpu

CLAIM = """
import os, sys, time
from mvprepro.gpu import claim_device
device = claim_device(poll_seconds=0.05)
print(device, os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
time.sleep(float(sys.argv[1]))
"""


def _job(lock_dir: Path, slots: str, hold: float) -> subprocess.Popen:
    """A stand-in for a GPU job: claims a device, reports it, holds it for ``hold`` s."""
    env = {**os.environ, gpu.SLOTS_ENV: slots, gpu.LOCK_DIR_ENV: str(lock_dir)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return subprocess.Popen([sys.executable, "-c", CLAIM, str(hold)], env=env, stdout=subprocess.PIPE, text=True)


def _device(job: subprocess.Popen) -> str:
    device, visible = job.stdout.readline().split()
    assert device == visible  # the job sees only the device it claimed
    return device


def test_without_slots_nothing_changes(monkeypatch):
    monkeypatch.delenv(gpu.SLOTS_ENV, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert gpu.claim_device() is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"


def test_concurrent_jobs_get_distinct_devices(tmp_path):
    jobs = [_job(tmp_path, "0,1", hold=3) for _ in range(2)]
    try:
        assert sorted(_device(j) for j in jobs) == ["0", "1"]
    finally:
        for j in jobs:
            j.kill()
            j.wait()


def test_devices_come_from_the_slot_list(tmp_path):
    """Slots name devices as CUDA does (indices or UUIDs), e.g. those a user left visible."""
    job = _job(tmp_path, "GPU-5a1b", hold=0)
    assert _device(job) == "GPU-5a1b"
    job.wait()


def test_a_job_waits_while_every_device_is_taken(tmp_path):
    first = _job(tmp_path, "7", hold=1.5)
    assert _device(first) == "7"
    start = time.monotonic()
    second = _job(tmp_path, "7", hold=0)
    assert _device(second) == "7"
    assert time.monotonic() - start > 0.8  # only once the first job let go
    first.wait()
    second.wait()


def test_a_killed_job_frees_its_device(tmp_path):
    first = _job(tmp_path, "0", hold=60)
    assert _device(first) == "0"
    first.kill()  # SIGKILL: no cleanup code runs; the kernel drops the lock
    first.wait()
    start = time.monotonic()
    second = _job(tmp_path, "0", hold=0)
    assert _device(second) == "0"
    assert time.monotonic() - start < 10
    second.wait()


def test_cpu_stages_claim_no_device():
    assert cli._device_preference({"training": {"device": "cpu"}}) == "cpu"  # train
    assert cli._device_preference({"batch_size": 32, "device": "cpu"}) == "cpu"  # evaluate
    assert cli._device_preference({"attack": {"recipe": "textfooler"}, "device": "cpu"}) == "cpu"  # attack
    assert cli._device_preference({"attack": {"recipe": "textfooler"}, "device": "auto"}) == "auto"  # CUDA when present
    assert cli._device_preference({"attack": {}}) == "auto"


def test_the_plans_gpu_specs_carry_the_configs_device(monkeypatch):
    """Each GPU stage's spec, as the workflow builds it, tells the CLI which device it wants."""
    import yaml
    from snakemake.utils import validate

    from mvprepro import plan as planner

    repo = REPO
    monkeypatch.chdir(repo)
    config = yaml.safe_load((repo / "config" / "demo.yaml").read_text())
    config["backbones"]["tiny-roberta"]["adapt"] = {"steps": 10}
    validate(config, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    for device in ("cpu", "auto"):
        config["training"]["device"] = device
        plan = planner.Plan(config)
        run = ("sst2", "tiny-roberta", "mvp", 0)
        specs = {
            "adapt-backbone": plan.adapt_backbone("tiny-roberta"),
            "train": plan.train(*run),
            "evaluate": plan.evaluate(*run),
            "attack": plan.attack(*run, "textfooler", 0),
        }
        assert set(specs) == cli.GPU_COMMANDS
        assert {name: cli._device_preference(spec) for name, spec in specs.items()} == dict.fromkeys(specs, device)
