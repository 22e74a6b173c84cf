"""The pure SLA core: durations, business calendars, policies and the clock. No I/O, no clock reads."""
