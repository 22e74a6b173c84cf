"""Lead sources: ad and form platforms posting leads in their own formats (one module per provider)."""
