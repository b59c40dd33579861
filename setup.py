"""Package metadata. Dependencies are pinned in requirements/pins.txt and installed
by scripts/setup.sh (mmcv has to be built from source, which setup.py cannot express)."""
from setuptools import find_packages, setup

setup(
    name="tsmdet",
    version="0.1.0",
    description="Online video object detection with Temporal Shift Modules (TSM)",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["tsmdet", "tsmdet.*"]),
    include_package_data=True,
)
