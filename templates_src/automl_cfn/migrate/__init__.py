"""automl-cfn migrate: adopt a running Terraform deployment of the seed in place."""
