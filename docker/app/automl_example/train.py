"""train: fit the model with the best hyperparameters (BEST_PARAMS_KEY, which optimize writes), evaluate it
on the held-out split, write models/model.joblib and models/metrics.json, and publish the scores as
CloudWatch metrics (validation_accuracy, validation_roc_auc) to METRICS_NAMESPACE, which the pipeline's
quality gate reads."""

from __future__ import annotations

import io
import os

import joblib
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

from . import data
from .store import Store


def main(store: Store | None = None) -> dict:
    store = store or Store()
    best = store.get_json(store.best_params)
    x_train, x_test, y_train, y_test = data.load()
    model = HistGradientBoostingClassifier(random_state=data.SEED, **best["params"]).fit(x_train, y_train)
    metrics = {"accuracy": round(float(accuracy_score(y_test, model.predict(x_test))), 4),
               "roc_auc": round(float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])), 4)}
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    where = store.put(f"{store.models}model.joblib", buffer.getvalue())
    store.put_json(f"{store.models}metrics.json", metrics)
    print(f"train: held-out accuracy {metrics['accuracy']}, ROC AUC {metrics['roc_auc']} -> {where}")
    publish(metrics)
    return metrics


def publish(metrics: dict, namespace: str | None = None) -> None:
    """The held-out scores as metrics, where the task runs with a namespace to publish to."""
    namespace = namespace or os.environ.get("METRICS_NAMESPACE")
    if not namespace:
        return
    import boto3

    boto3.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": f"validation_{name}", "Value": value, "Unit": "None"} for name, value in sorted(metrics.items())])
    print(f"train: published {', '.join(f'validation_{n}' for n in sorted(metrics))} to {namespace}")


if __name__ == "__main__":
    main()
