"""The pure routing core: the routing document, rule matching, rep selection. No I/O, no clock reads."""
