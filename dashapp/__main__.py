"""`python -m dashapp COMMAND`: see `python -m dashapp --help`."""

from dashapp.cli import main

if __name__ == "__main__":
    main(prog_name="python -m dashapp")
