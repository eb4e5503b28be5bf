"""Deployment artefacts: the containerfile lints, every overlay renders and validates against
the Kubernetes schemas, and the invariants operators rely on hold."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ["dev", "prod"]


def kubectl():
    path = shutil.which("kubectl")
    if path is None:
        from tests.conftest import REQUIRE_SERVICES

        reason = "needs kubectl (with kustomize) on PATH"
        pytest.fail(reason) if REQUIRE_SERVICES else pytest.skip(reason)
    return path


def render(overlay: str) -> list[dict]:
    result = subprocess.run([kubectl(), "kustomize", str(ROOT / "kubernetes" / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request):
    return request.param, render(request.param)


def pod_specs(objects):
    """(object, pod spec) for every workload kind."""
    for obj in objects:
        kind = obj["kind"]
        if kind in ("Deployment", "StatefulSet", "Job"):
            yield obj, obj["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


# --- containerfile ----------------------------------------------------------------------------
def test_containerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(ROOT / "containerfile")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_containerfile_is_multi_stage_non_root_and_never_migrates_on_start():
    text = (ROOT / "containerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2 and "AS builder" in text
    assert "USER 65532:65532" in text and "PYTHONUNBUFFERED=1" in text
    assert "collectstatic" in text
    cmd = [line for line in text.splitlines() if line.startswith("CMD")][0]
    assert "daphne" in cmd and "migrate" not in cmd
    assert not re.search(r"^(ENTRYPOINT|CMD).*migrate", text, re.M)


# --- kubernetes -------------------------------------------------------------------------------
def test_every_object_validates_against_the_kubernetes_schemas(manifests):
    import kubernetes_validate

    _, objects = manifests
    builtin = [o for o in objects if "cnpg.io" not in o["apiVersion"]]
    assert len(builtin) >= 14
    for obj in builtin:
        kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_every_container_has_limits_probes_and_a_locked_down_security_context(manifests):
    _, objects = manifests
    for obj, spec in pod_specs(objects):
        name = obj["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
            if obj["kind"] in ("Deployment", "StatefulSet"):
                assert "livenessProbe" in container, where


def test_web_probes_health_and_beat_is_a_single_recreated_replica(manifests):
    overlay, objects = manifests
    web = find(objects, "Deployment", "songhub-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/health"
    assert web["livenessProbe"]["httpGet"]["path"] == "/health/live"
    beat = find(objects, "Deployment", "songhub-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    worker = find(objects, "Deployment", "songhub-worker")["spec"]["template"]["spec"]
    assert worker["containers"][0]["livenessProbe"]["exec"]["command"] == \
        ["python", "-m", "workers.alive"]


def test_prod_runs_several_web_replicas_with_a_pdb_and_an_hpa():
    objects = render("prod")
    assert find(objects, "Deployment", "songhub-web")["spec"]["replicas"] >= 2
    pdb = find(objects, "PodDisruptionBudget", "songhub-web")
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    hpa = find(objects, "HorizontalPodAutoscaler", "songhub-web")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "songhub-web"
    assert hpa["spec"]["minReplicas"] >= 2
    cluster = find(objects, "Cluster", "songhub-db")
    assert cluster["spec"]["instances"] >= 3 and cluster["spec"]["backup"]["barmanObjectStore"]
    assert find(objects, "ScheduledBackup", "songhub-db-nightly")
    redis = find(objects, "StatefulSet", "songhub-redis")
    assert redis["spec"]["volumeClaimTemplates"], "Redis must persist to a volume"


def test_image_tags_differ_per_overlay():
    images = {o: {c["image"] for _, s in pod_specs(render(o)) for c in s["containers"]
                  if "songhub/songhub" in c["image"]} for o in OVERLAYS}
    assert images["dev"] == {"ghcr.io/songhub/songhub:dev"}
    assert len(images["prod"]) == 1


def test_cronjobs_run_real_management_commands_on_their_schedules(manifests):
    from django.core.management import get_commands

    _, objects = manifests
    cronjobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CronJob"}
    retrieve = cronjobs["songhub-retrieve-songs"]
    assert retrieve["spec"]["schedule"] == "0 * * * *"
    container = retrieve["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-2:] == ["retrieve_songs", "--ensure-search-infra"]
    assert {"name": "CONCURRENT_RUN", "value": "true"} in container["env"]
    for name, cron in cronjobs.items():
        assert cron["spec"]["concurrencyPolicy"] == "Forbid", name
        assert "successfulJobsHistoryLimit" in cron["spec"] and "failedJobsHistoryLimit" in cron["spec"]
        assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] <= 3
    commands = get_commands()
    for obj, spec in pod_specs(objects):
        args = spec["containers"][0].get("args", [])
        if "manage.py" in args:
            assert args[args.index("manage.py") + 1] in commands, obj["metadata"]["name"]


def test_listening_cronjobs_run_daily_and_beat_leaves_them_alone(manifests):
    _, objects = manifests
    cronjobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CronJob"}
    assert cronjobs["songhub-link-artists"]["spec"]["schedule"] == "0 3 * * *"
    assert cronjobs["songhub-update-song-ids"]["spec"]["schedule"].endswith("* * *")
    config = find(objects, "ConfigMap", "songhub-config")["data"]
    assert config["LISTENING_BEAT_JOBS"] == "0" and config["SONG_SYNC_INTERVAL_SECONDS"] == "0"


def test_secrets_are_referenced_never_defined(manifests):
    _, objects = manifests
    assert not [o for o in objects if o["kind"] == "Secret"]
    config = find(objects, "ConfigMap", "songhub-config")["data"]
    for secret in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "GITHUB_TOKEN",
                   "SPOTIFY_CLIENT_SECRET"):
        assert secret not in config
    web = find(objects, "Deployment", "songhub-web")["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in web["env"]}
    assert refs == {"DATABASE_URL": "songhub-db-app", "REDIS_URL": "songhub-redis"}
    assert {"secretRef": {"name": "songhub-secrets"}} in web["envFrom"]


def test_song_data_is_a_shared_volume_for_web_worker_and_ingestion(manifests):
    _, objects = manifests
    pvc = find(objects, "PersistentVolumeClaim", "songhub-song-data")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    users = {obj["metadata"]["name"] for obj, spec in pod_specs(objects)
             if any(v.get("persistentVolumeClaim", {}).get("claimName") == "songhub-song-data"
                    for v in spec.get("volumes", []))}
    assert {"songhub-web", "songhub-worker", "songhub-retrieve-songs"} <= users


def test_ingress_routes_websockets_and_network_policies_fence_the_data_stores(manifests):
    _, objects = manifests
    paths = [p["path"] for p in find(objects, "Ingress", "songhub")["spec"]["rules"][0]["http"]["paths"]]
    assert "/ws" in paths and "/" in paths
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert policies["songhub-web-ingress"]["ingress"][0]["ports"][0]["port"] == 8000
    db = policies["songhub-db-from-app-only"]["ingress"][0]
    assert db["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/part-of"] == "songhub"
    egress_ports = {p["port"] for rule in policies["songhub-app-egress"]["egress"]
                    for p in rule["ports"]}
    assert egress_ports == {53, 5432, 6379, 443}


# --- tekton -----------------------------------------------------------------------------------
def tekton():
    objects = []
    for path in sorted((ROOT / ".tekton").glob("*.yaml")):
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def test_tekton_objects_are_well_formed():
    objects = tekton()
    kinds = {(o["apiVersion"], o["kind"]) for o in objects}
    assert ("tekton.dev/v1", "Pipeline") in kinds and ("tekton.dev/v1", "Task") in kinds
    for kind in ("EventListener", "TriggerBinding", "TriggerTemplate"):
        assert ("triggers.tekton.dev/v1beta1", kind) in kinds
    for obj in objects:
        assert obj["metadata"]["name"] and obj["spec"], obj["kind"]
    local_tasks = {o["metadata"]["name"] for o in objects if o["kind"] == "Task"}
    pipeline = next(o for o in objects if o["kind"] == "Pipeline")
    declared = {p["name"] for p in pipeline["spec"]["params"]}
    workspaces = {w["name"] for w in pipeline["spec"]["workspaces"]}
    text = yaml.safe_dump(pipeline)
    assert set(re.findall(r"\$\(params\.([\w-]+)\)", text)) <= declared
    for task in pipeline["spec"]["tasks"] + pipeline["spec"]["finally"]:
        ref = task["taskRef"]
        assert ref.get("name") in local_tasks or ref.get("resolver") == "hub", task["name"]
        for ws in task.get("workspaces", []):
            assert ws["workspace"] in workspaces


def test_the_pipeline_runs_in_the_documented_order():
    pipeline = next(o for o in tekton() if o["kind"] == "Pipeline")
    tasks = {t["name"]: t for t in pipeline["spec"]["tasks"]}
    assert tasks["clone"]["runAfter"] == ["set-status-pending"]
    assert tasks["unit-tests"]["runAfter"] == tasks["build-image"]["runAfter"] == ["clone"]
    assert sorted(tasks["deploy"]["runAfter"]) == ["build-image", "unit-tests"]
    assert tasks["deploy"]["when"][0]["values"] == ["production"]
    assert {t["name"] for t in pipeline["spec"]["finally"]} == {"set-status-success",
                                                                "set-status-failure"}
    build = {p["name"]: p["value"] for p in tasks["build-image"]["params"]}
    assert build["DOCKERFILE"] == "./containerfile"


def test_the_run_has_a_15_minute_timeout_a_workspace_pvc_and_a_pip_cache():
    objects = tekton()
    template = next(o for o in objects if o["kind"] == "TriggerTemplate")
    run = template["spec"]["resourcetemplates"][0]
    assert run["spec"]["timeouts"]["pipeline"] == "15m"
    spaces = {w["name"]: w for w in run["spec"]["workspaces"]}
    assert "volumeClaimTemplate" in spaces["source"]
    assert "persistentVolumeClaim" in spaces["pip-cache"]
    unit = next(o for o in objects if o["kind"] == "Task" and o["metadata"]["name"] ==
                "songhub-unit-tests")
    assert {s["name"] for s in unit["spec"]["sidecars"]} == {"postgres", "redis"}
    assert "make test" in unit["spec"]["steps"][0]["script"]


# --- monitoring component -----------------------------------------------------------------------
# ServiceMonitor and PrometheusRule are prometheus-operator CRDs: kubernetes-validate knows only
# the built-in kinds, so those two are checked structurally here instead of against a schema.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}


def test_the_monitoring_component_renders_and_validates():
    import kubernetes_validate

    plain, monitored = render("prod"), render("prod-monitored")
    assert not [o for o in plain if o["kind"] in OPERATOR_KINDS]  # clusters without the operator
    added = {(o["kind"], o["metadata"]["name"]) for o in monitored} - \
        {(o["kind"], o["metadata"]["name"]) for o in plain}
    assert added == {("ServiceMonitor", "songhub"), ("PrometheusRule", "songhub"),
                     ("Service", "songhub-worker-metrics"),
                     ("ConfigMap", "songhub-grafana-dashboard"),
                     ("NetworkPolicy", "songhub-worker-metrics-from-prometheus")}
    for obj in monitored:
        if obj["kind"] not in OPERATOR_KINDS and "cnpg.io" not in obj["apiVersion"]:
            kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_service_monitor_scrapes_ports_that_exist_with_the_bearer_token():
    objects = render("prod-monitored")
    monitor = find(objects, "ServiceMonitor", "songhub")["spec"]
    selected = [o for o in objects if o["kind"] == "Service" and
                monitor["selector"]["matchLabels"].items() <= o["metadata"]["labels"].items()]
    ports = {p["name"] for service in selected for p in service["spec"]["ports"]}
    for endpoint in monitor["endpoints"]:
        assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
        assert endpoint["authorization"]["credentials"] == {"name": "songhub-secrets",
                                                            "key": "METRICS_TOKEN"}
    worker = find(objects, "Deployment", "songhub-worker")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in worker["containers"][0]["env"]}
    assert env["WORKER_METRICS_PORT"] == "9100" and env["PROMETHEUS_MULTIPROC_DIR"]


def test_every_alert_the_issue_names_exists_and_uses_exported_series():
    import json

    from songhub import metrics

    rules = find(render("prod-monitored"), "PrometheusRule", "songhub")["spec"]["groups"][0]["rules"]
    alerts = {r["alert"]: r for r in rules}
    assert set(alerts) == {"SonghubWorkerHeartbeatMissing", "SonghubPollLagHigh",
                           "SonghubDatabasePoolSaturated", "SonghubRoomFanoutSlow",
                           "SonghubRunStuck", "SonghubHigh5xxRate"}
    exported = {"songhub_workers", "songhub_db_pool_connections", "songhub_runs_running",
                "songhub_runs_running_oldest_age_seconds"}
    exported |= {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["for"], name
        series = set(re.findall(r"(songhub_[a-z_]+?)(?:_bucket|_total)?\b", rule["expr"]))
        assert series and series <= exported, (name, series - exported)
    dashboard = json.loads(find(render("prod-monitored"), "ConfigMap",
                                "songhub-grafana-dashboard")["data"]["songhub-dashboard.json"])
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Web", "Rooms", "Workers", "Jobs", "Processes"]
def test_graph_scrape_targets_runs_daily_and_the_worker_takes_the_enrichment_queue(manifests):
    _, objects = manifests
    cronjobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CronJob"}
    cron = cronjobs["songhub-scrape-targets"]
    assert cron["spec"]["schedule"].endswith("* * *")
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][2] == "scrape_targets"
    worker = find(objects, "Deployment", "songhub-worker")["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"][worker["args"].index("-Q") + 1] == "celery,enrichment"
