"""The built wheel carries the browser client, so pip users need no Node.js."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_browser_client_and_templatetags(tmp_path):
    """`pip wheel .` produces a wheel with socket.io.min.js, socketio_views.js and the template tags."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("socketio_views-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "socketio_views/static/socketio_views/vendor/socket.io.min.js" in names
    assert "socketio_views/static/socketio_views/socketio_views.js" in names
    assert "socketio_views/templatetags/socketio_tags.py" in names
    assert "socketio_views/management/commands/runserver_socketio.py" in names
