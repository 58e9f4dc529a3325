"""S3 lifecycle on the local endpoint: moto keeps a bucket's rules but never runs them, and its CloudFormation
bucket drops LifecycleConfiguration.

- `rules_from_the_template`: a template's bucket gets its lifecycle rules, in the S3 API's shape
  (aws-properties-s3-bucket-rule.html: a rule's Prefix and TagFilters together filter with And).
- `pass_days`: the lifecycle passes of `days` days at once.  Each enabled rule with Expiration in days removes
  the current version of every object its filter matches (the prefix and every tag) once the object is that
  many days old; in a versioned bucket a delete marker hides it, as S3 does
  (lifecycle-expire-general-considerations.html).  The server runs it on POST /_automl/s3/lifecycle?days=N.

Tests: tests/integration/test_template_retention.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

PARTITION = "aws"


def api_rules(configuration: dict | None) -> list[dict]:
    """A template's LifecycleConfiguration as PutBucketLifecycleConfiguration's rules."""
    rules = []
    for rule in (configuration or {}).get("Rules", []):
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters", [])]
        prefix = rule.get("Prefix", "")
        found = {"ID": rule.get("Id", ""), "Status": rule.get("Status", "Enabled"),
                 "Filter": {"And": {"Prefix": prefix, "Tag": tags}} if tags else {"Prefix": prefix}}
        if rule.get("ExpirationInDays") is not None:
            found["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if rule.get("NoncurrentVersionExpiration"):
            found["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
        if rule.get("AbortIncompleteMultipartUpload"):
            found["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
        rules.append(found)
    return rules


def rules_from_the_template(account: str, bucket: str, props: dict) -> None:
    from moto.s3.models import s3_backends

    backend = s3_backends[account][PARTITION]
    rules = api_rules(props.get("LifecycleConfiguration"))
    if rules:
        backend.put_bucket_lifecycle_configuration(bucket, rules)
    elif backend.get_bucket(bucket).rules:
        backend.delete_bucket_lifecycle(bucket)


def matches(rule, key: str, tags: dict[str, str]) -> bool:
    """Does the rule's filter (a prefix, a tag, or And of both) take this object?"""
    prefix, wanted = rule.prefix or "", {}
    if rule.filter is not None:
        if rule.filter.and_filter is not None:
            prefix, wanted = rule.filter.and_filter.prefix or "", dict(rule.filter.and_filter.tags)
        else:
            prefix = rule.filter.prefix or ""
            if rule.filter.tag_key:
                wanted = {rule.filter.tag_key: rule.filter.tag_value}
    return key.startswith(prefix) and all(tags.get(k) == v for k, v in wanted.items())


def pass_days(days: int) -> list[str]:
    """Run every bucket's expiration rules as if `days` had passed; returns s3://bucket/key of what expired."""
    from moto.s3.models import s3_backends

    now = datetime.now(timezone.utc) + timedelta(days=days)
    expired = []
    for regions in list(s3_backends.values()):
        backend = regions[PARTITION]
        for bucket in list(backend.buckets.values()):
            rules = [r for r in bucket.rules if r.status == "Enabled" and r.expiration_days]
            for key in list(bucket.keys.keys()) if rules else []:
                current = bucket.keys.get(key)
                if current is None or not hasattr(current, "value"):      # gone, or behind a delete marker
                    continue
                tags = {t["Key"]: t["Value"] for t in backend.get_object_tagging(current).get("Tags", [])}
                age = now - current.last_modified.replace(tzinfo=timezone.utc)
                if any(matches(r, key, tags) and age >= timedelta(days=int(r.expiration_days)) for r in rules):
                    backend.delete_object(bucket.name, key)
                    expired.append(f"s3://{bucket.name}/{key}")
    return expired
