"""Print, as JSON, every job Snakemake plans for a config (``--forceall``): its rule, its
spec (the job's only params), the specs of the jobs that make its inputs, and the upstream
specs the Plan names for it. Run as a script (``python tests/workflow/dag_jobs.py REPO CONFIGFILE``)
so that Snakemake's process-wide state stays out of the test process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings


def jobs(repo: Path, configfile: str) -> list[dict]:
    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[repo / configfile]),
            snakefile=repo / "Snakefile",
            workdir=repo,
        )
        dag_api = workflow_api.dag(DAGSettings(forceall=True))
        # What `snakemake --dag` does, keeping the DAG instead of printing it.
        workflow = workflow_api._workflow
        workflow.dag_settings = dag_api.dag_settings
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        plan = workflow.globals["PLAN"]
        out = []
        for job in workflow.dag.jobs:
            spec = getattr(job.params, "spec", None)
            producers = workflow.dag.dependencies[job]
            out.append(
                {
                    "rule": job.rule.name,
                    "wildcards": dict(job.wildcards_dict),
                    "spec": spec,
                    "made_by": sorted({getattr(d.params, "spec", None) or f"<rule {d.rule.name} without a spec>" for d in producers}),
                    "plan_upstream": plan.upstream_of.get(spec) if spec else None,
                }
            )
        return out


if __name__ == "__main__":
    json.dump(jobs(Path(sys.argv[1]).resolve(), sys.argv[2]), sys.stdout)
