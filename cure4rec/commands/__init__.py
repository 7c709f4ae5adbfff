"""Sub-commands of the `cure4rec` CLI, one module per area (each defines `register`)."""
