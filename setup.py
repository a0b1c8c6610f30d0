"""What pre-commit installs for the `language: python` hooks in .pre-commit-hooks.yaml.

Not preflight itself: a placeholder package whose only dependency is the prebuilt `preflight` wheel on
PyPI (`preflight-deploy`), so a hook installs in seconds with no Rust toolchain, as typos' hook does.
PREFLIGHT_VERSION is the version in Cargo.toml (ci/dist.sh and tests/release.rs check it). The wheel
itself is built from pypi/pyproject.toml.
"""

from setuptools import setup

PREFLIGHT_VERSION = "0.1.0"

setup(
    name="pre_commit_placeholder_package",
    version="0.0.0",
    install_requires=[f"preflight-deploy=={PREFLIGHT_VERSION}"],
    # No Python code of its own; without these setuptools would look for packages in every folder.
    packages=[],
    py_modules=[],
)
