"""Day-2 verbs: images, data, tasks, pipeline, logs.  Each reads what it needs
(cluster, subnets, security group, bucket, repositories, ...) from the
deployed stack's outputs, never from the user."""
