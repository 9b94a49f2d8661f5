"""One module per CLI subcommand; see `mapbench.cli.COMMANDS`."""
