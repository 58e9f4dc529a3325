"""optimize: a small random search over a gradient-boosting model's hyperparameters; writes the best
ones to BEST_PARAMS_KEY (models/best_params.json), the one object its task role may write."""

from __future__ import annotations

import sys

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import RandomizedSearchCV

from . import data
from .store import Store

SPACE = {"learning_rate": [0.03, 0.1, 0.3], "max_depth": [2, 3, None], "max_iter": [50, 100, 200],
         "l2_regularization": [0.0, 0.1, 1.0]}


def main(store: Store | None = None, trials: int = 8) -> dict:
    store = store or Store()
    x_train, _, y_train, _ = data.load()
    search = RandomizedSearchCV(HistGradientBoostingClassifier(random_state=data.SEED), SPACE, n_iter=trials,
                                cv=3, scoring="roc_auc", random_state=data.SEED, n_jobs=1)
    search.fit(x_train, y_train)
    result = {"params": search.best_params_, "cv_roc_auc": round(float(search.best_score_), 4), "trials": trials}
    where = store.put_json(store.best_params, result)
    print(f"optimize: best cross-validated ROC AUC {result['cv_roc_auc']} with {result['params']} -> {where}")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
