"""Deploy: package -> change set -> review -> execute -> watch -> verify.

Only the deploy-family verbs import this package (and boto3 with it).
"""
