"""`python -m localgpt_ls` is the `localgpt` command."""

from localgpt_ls.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
