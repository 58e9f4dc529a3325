"""The dataset: scikit-learn's bundled breast-cancer data, split the same way every run."""

from __future__ import annotations

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

SEED = 7


def load():
    """(X_train, X_test, y_train, y_test)."""
    features, target = load_breast_cancer(return_X_y=True)
    return train_test_split(features, target, test_size=0.25, random_state=SEED, stratify=target)


def feature_count() -> int:
    return load_breast_cancer().data.shape[1]
