"""Delivery channels: webhooks (CloudEvents or Slack), HubSpot, Salesforce and email. See ``channels.base``."""
