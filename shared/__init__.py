"""Code shared by the leadrouter services: event contracts, settings, Kafka and database plumbing."""
