from setuptools import find_namespace_packages, setup

setup(
    name="socketio-views",
    version="0.1.0",
    description="Class-based real-time channels for Django over Socket.IO",
    long_description=open("README.rst", encoding="utf-8").read(),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_namespace_packages(include=["socketio_views", "socketio_views.*"]),
    include_package_data=True,
    python_requires=">=3.11",
    install_requires=[
        "Django>=5.2,<6.0",
        "python-socketio>=5.12,<6",
        "python-engineio>=4.11,<5",
        "gevent>=24.2",
        "gevent-websocket>=0.10.1",
        "attrs>=23.1",
        "cattrs>=24.1",
        "limits>=4.0",
    ],
    entry_points={"pytest11": ["socketio_views = socketio_views.testing.pytest_plugin"]},
    classifiers=[
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
    ],
)
