"""The production profile's files (fast; `make prod-check` runs them for real): the Postgres instance, the queued
coordinator with the embedded instance's limits and pools, run monitoring, the Helm values for dagster-k8s, and the
container image."""

from __future__ import annotations

import re

import yaml

from clash_pipeline.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"


def _load(path) -> dict:
    return yaml.safe_load(path.read_text())


def _camel(value):
    """dagster.yaml's snake_case keys as the Helm chart spells them."""
    if isinstance(value, dict):
        return {re.sub(r"_(\w)", lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def test_the_production_instance_is_postgres_queued_with_the_same_limits_and_monitored():
    from dagster._core.instance.config import dagster_instance_config

    prod, embedded = _load(DEPLOY / "dagster.prod.yaml"), _load(PROJECT_ROOT / "dagster.yaml")
    assert prod["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}
    assert prod["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert prod["concurrency"] == embedded["concurrency"]
    assert prod["concurrency"]["runs"]["max_concurrent_runs"] == 4
    assert prod["run_monitoring"]["enabled"] is True and prod["run_monitoring"]["start_timeout_seconds"] > 0
    assert prod["telemetry"] == {"enabled": False}
    config, _ = dagster_instance_config(str(DEPLOY), "dagster.prod.yaml")  # Dagster's own schema validation
    assert config["storage"]["postgres"]


def test_helm_values_run_dagster_k8s_on_external_postgres_with_the_same_queue():
    values, embedded = _load(DEPLOY / "helm" / "values.yaml"), _load(PROJECT_ROOT / "dagster.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False and values["global"]["postgresqlSecretName"]
    assert values["dagsterDaemon"]["runCoordinator"] == {"enabled": True, "type": "QueuedRunCoordinator",
                                                         "config": {"queuedRunCoordinator": {}}}
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert {k: v for k, v in concurrency.items() if k != "enabled"} == _camel(embedded["concurrency"])
    [code] = values["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"] == ["--module-name", "clash_pipeline.definitions"]
    assert code["image"]["repository"] and code["image"]["tag"]
    assert {s["name"] for s in code["envSecrets"]} == {"clash-r2"}  # credentials from a secret, never values
    assert not any("SECRET" in str(e) for e in values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"])
    mounts = values["runLauncher"]["config"]["k8sRunLauncher"]["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == ["/var/lib/clash"]  # market memory: one writer node's volume


def test_the_image_installs_the_prod_extra_and_serves_the_code_location():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    base = re.search(r"^FROM python:(\d+)\.(\d+)", dockerfile, re.M)
    assert base and (int(base[1]), int(base[2])) >= (3, 11)
    assert "pip install -e '.[prod]'" in dockerfile  # editable: migrations are read from ./sql
    assert "COPY sql ./sql" in dockerfile and "COPY deploy/dagster.prod.yaml" in dockerfile
    assert '"-m", "clash_pipeline.definitions"' in dockerfile and "USER clash" in dockerfile


def test_prod_check_is_a_make_target_outside_the_test_suite():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "prod-check: install" in makefile and "deploy/prod_check.py" in makefile
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "prod" not in test_recipe
    compile((DEPLOY / "prod_check.py").read_text(), "prod_check.py", "exec")
