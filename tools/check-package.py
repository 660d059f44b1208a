#!/usr/bin/env python
"""Fail unless the built collection tarball holds only what a user installs, as regular files.

usage: tools/check-package.py TARBALL
"""

import fnmatch
import sys
import tarfile

# What a user installs: content, its documentation and metadata. Everything else is ours.
SHIPPED_TOP = {
    "MANIFEST.json", "FILES.json", "README.md", "LICENSES", "changelogs", "docs", "meta",
    "playbooks", "plugins", "roles", "requirements.txt", "bindep.txt",
}
DEV_ONLY = ("docs/lab*", "changelogs/fragments*", "*/__pycache__*", "*.pyc")


def problems(members):
    """Each member that is not a regular file or directory, or that a user does not need."""
    for member in members:
        name = member.name.lstrip("./")
        if not (member.isfile() or member.isdir()):
            yield "%s: not a regular file (tar type %r)" % (name, member.type)
        elif name.split("/")[0] not in SHIPPED_TOP:
            yield "%s: not part of what a user installs" % name
        elif any(fnmatch.fnmatch(name, pattern) for pattern in DEV_ONLY):
            yield "%s: development-only" % name


def main():
    with tarfile.open(sys.argv[1]) as tar:
        members = tar.getmembers()
    found = list(problems(members))
    for line in found:
        print("package: " + line, file=sys.stderr)
    if found:
        sys.exit("package: %d of %d members must not be shipped (galaxy.yml build_ignore)"
                 % (len(found), len(members)))
    print("  %d members, all regular files or directories a user installs" % len(members))


if __name__ == "__main__":
    main()
