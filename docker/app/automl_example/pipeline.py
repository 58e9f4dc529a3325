"""The all-in-one pipeline image: optimize, train and a batch prediction in one task."""

from __future__ import annotations

from . import optimize, predict, train
from .store import Store


def main(store: Store | None = None) -> None:
    store = store or Store()
    optimize.main(store)
    train.main(store)
    predict.batch(store)


if __name__ == "__main__":
    main()
