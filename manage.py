#!/usr/bin/env python
"""Django's command-line utility for songhub."""

import os
import sys


def main():
    from songhub import envfile

    envfile.load()  # the local .env written by `make run`; the environment wins over it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
