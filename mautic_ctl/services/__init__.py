"""Use cases, one function each, wiring config, store, client and drain; the CLI calls these and renders."""
