"""What avalign writes into MLflow for its UI: the experiment kind, source tags, dataset inputs."""

from __future__ import annotations

import json

from avalign.storage import tracking


def test_experiments_are_of_the_training_kind_and_runs_carry_source_and_data(tmp_path):
    client = tracking.client(tmp_path / "mlflow.db")
    new = tracking.experiment_id(client, "fresh", tmp_path / "artifacts")
    old = client.create_experiment("older", artifact_location=(tmp_path / "a2").as_uri())
    assert tracking.experiment_id(client, "older", None) == old  # tagged on first use
    for experiment in (new, old):
        tags = client.get_experiment(experiment).tags
        assert tags[tracking.EXPERIMENT_KIND_TAG] == tracking.TRAINING_KIND
    page = tracking.page_url(tmp_path / "mlflow.db", new)  # the UI's switch set to Model training
    assert page == f"http://127.0.0.1:5000/#/experiments/{new}?workflowType=machine_learning"

    tags = tracking.source_tags("avalign.train")
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"] == "avalign.train"
    assert tags["avalign.git_commit"].startswith(tags.get("mlflow.source.git.commit", "unknown"))
    run = client.create_run(new, tags=tags)
    item = tracking.DataInput("corpus/test", "0123456789", str(tmp_path), "testing", {"samples": 7})
    tracking.log_datasets(client, run.info.run_id, [item])
    (logged,) = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert (logged.dataset.name, logged.dataset.digest) == ("corpus/test", "0123456789")
    assert json.loads(logged.dataset.profile) == {"samples": 7}
    assert [(t.key, t.value) for t in logged.tags] == [("mlflow.data.context", "testing")]
