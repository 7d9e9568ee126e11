# -*- coding: utf-8 -*-
# Copyright (c) 2026 nbsync.proxmox contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

ansible-test creates its sanity virtual environments without pip and bootstraps pip
by running ``~/.ansible/test/cache/get_pip_<version>.py`` with get-pip's arguments
(``pip==X --no-setuptools --no-wheel ...``). That host is not reachable here, so
tests/ci/sanity.sh installs this file there instead, next to a pip wheel fetched
from PyPI. Like get-pip.py, it runs pip from the wheel to install pip itself.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEEL = os.path.join(HERE, '@WHEEL@')


def main():
    sys.path.insert(0, WHEEL)
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    if not any(arg.split('=')[0].split('<')[0].split('>')[0].strip().lower() == 'pip' for arg in args):
        args.append(WHEEL)
    sys.exit(pip_main(['install', '--upgrade', '--force-reinstall'] + args))


if __name__ == '__main__':
    main()
