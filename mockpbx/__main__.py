"""`python -m mockpbx` is the `mockpbx` command."""

from mockpbx.cli import main

main(prog_name="mockpbx")
