"""automl-cfn: the AutoML ML pipeline's AWS infrastructure as CloudFormation nested stacks."""

__version__ = "0.1.0"
