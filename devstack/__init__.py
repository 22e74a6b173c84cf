"""Developer tooling: run the embedded broker and the three services on one machine (`make run`)."""
