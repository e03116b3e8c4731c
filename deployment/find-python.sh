#!/bin/sh
# Print the absolute path of a working Python X.Y (e.g. 3.13), or nothing: `pythonX.Y` on PATH when it runs
# (a pyenv shim for a version that is not selected does not), else the newest pyenv-installed X.Y.
version="${1:?usage: find-python.sh X.Y}"
check="import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))"
for candidate in "$(command -v "python$version" 2>/dev/null)" \
    $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/"python$version" 2>/dev/null | sort -r -V); do
    if [ -n "$candidate" ] && "$candidate" -c "$check" >/dev/null 2>&1; then
        # A shim or a venv's python may be a wrapper: ask the interpreter for its own path.
        "$candidate" -c "import sys; print(sys.executable)"
        exit 0
    fi
done
