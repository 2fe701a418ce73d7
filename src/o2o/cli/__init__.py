"""The `o2o` command line: thin commands that parse input, call a service and render the result."""
