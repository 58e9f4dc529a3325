"""A small AutoML app for the example images: optimize, train and predict on scikit-learn's bundled
breast-cancer data (no download).  The same code runs in every image; each image starts its step.

Storage: the data bucket (DATA_BUCKET, with DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX and
BEST_PARAMS_KEY as the task definitions set them) when one is given, else a folder under the scratch directory.  Nothing is
written anywhere else: the root filesystem is read-only, and SCRATCH (/tmp, a volume owned by the
container user) is the only writable path.
"""
