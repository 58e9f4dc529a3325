"""`python -m automl_cfn.deploy_role`: write data/iam_reference.json (see reference.py)."""

from .reference import main

raise SystemExit(main())
