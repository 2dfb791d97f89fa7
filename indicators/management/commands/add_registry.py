"""``python manage.py add_registry PATH.toml``: install or upgrade a registry from its profile.

Exit 0 and one line naming the registry and version; exit 1 with every problem on stderr (its
place in the file, Danish and English) and nothing changed. The same file again changes nothing;
a changed file needs a higher version, and upgrading recomputes the registry's results.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from indicators.registry.profile_file import ProfileRefused
from indicators.services.registries import install_file


class Command(BaseCommand):
    help = (
        "Installér eller opgradér et register fra dets profilfil (TOML). "
        "/ Install or upgrade a registry from its profile file (TOML)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the profile file, e.g. registries/x.toml")

    def handle(self, *args, path: Path, **options):
        if not path.is_file():
            self.stderr.write(f"Filen findes ikke / no such file: {path}")
            sys.exit(1)
        try:
            installed = install_file(path)
        except ProfileRefused as refused:
            self.stderr.write(
                f"{path}: profilen er afvist; intet er ændret. / "
                "the profile is refused; nothing changed."
            )
            for problem in refused.errors:
                self.stderr.write(f"  {problem.path}: {problem.da} / {problem.en}")
            sys.exit(1)
        self.stdout.write(installed.line())
