"""Every SQL statement of the service, grouped by feature. Nothing else builds SQL."""
