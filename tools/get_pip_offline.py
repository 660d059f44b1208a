"""Stand-in for ansible-test's pip bootstrap script (ci-files is not reachable from here).

ansible-test runs it in a new virtualenv as ``get_pip_<version>.py [pip options] pip==X``.
It installs the pip bundled with CPython (ensurepip), then the requested packages from the
configured package index, which is all the real get-pip.py would do.
"""
import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap()
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip sets it to os.devnull: keep the machine's pip config
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet"] + args))
