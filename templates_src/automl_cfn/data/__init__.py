"""Data files the package reads (provider facts, IAM action data, prices); a package so setuptools ships them."""
