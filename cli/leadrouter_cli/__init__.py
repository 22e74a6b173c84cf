"""``leadrouter``: the operator CLI over the services' HTTP APIs (import, simulate, backtest, DLQ, deliveries, tail)."""
