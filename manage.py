#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualityportal.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as missing:
        # What to set, in one line: a missing setting is not a crash to read a traceback of.
        sys.stderr.write(f"{missing}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
