"""Tests for ${{ values.name }}: settings, endpoints over real HTTP, and the process."""

import json
import os
import signal
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from app import DEFAULT_PORT, SERVICE_NAME, ConfigError, Settings, make_server

ROOT = Path(__file__).resolve().parent.parent


class SettingsTest(unittest.TestCase):
    def test_defaults(self):
        settings = Settings.from_env({})
        self.assertEqual(settings.host, "127.0.0.1")
        self.assertEqual(settings.port, DEFAULT_PORT)
        self.assertEqual(settings.service_name, SERVICE_NAME)

    def test_environment_overrides(self):
        settings = Settings.from_env(
            {"HOST": "0.0.0.0", "PORT": "9000", "SERVICE_NAME": "other"}
        )
        self.assertEqual(settings, Settings("0.0.0.0", 9000, "other"))

    def test_bad_port_is_refused(self):
        for value in ["http", "-1", "65536"]:
            with self.subTest(value=value), self.assertRaises(ConfigError):
                Settings.from_env({"PORT": value})


class EndpointsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = make_server(Settings(host="127.0.0.1", port=0))
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        host, port = cls.server.server_address[:2]
        cls.base = f"http://{host}:{port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join()

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    def test_root_describes_the_service(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body)["service"], SERVICE_NAME)
        self.assertIn("message", json.loads(body))

    def test_healthz(self):
        status, _headers, body = self.get("/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))

    def test_query_strings_are_ignored(self):
        status, _headers, _body = self.get("/healthz?probe=1")
        self.assertEqual(status, 200)

    def test_unknown_path_is_a_json_404(self):
        status, headers, body = self.get("/nope")
        self.assertEqual(status, 404)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"error": "not found", "path": "/nope"})


class ProcessTest(unittest.TestCase):
    """Runs `python3 -m app` as Pave does and stops it with SIGTERM."""

    def test_serves_and_stops_on_sigterm(self):
        env = dict(os.environ, HOST="127.0.0.1", PORT="0", PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "app"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = process.stderr.readline()
            self.assertIn("listening on http://", line)
            url = line.rsplit(" ", 1)[-1].strip()
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                self.assertEqual(response.status, 200)
            process.send_signal(signal.SIGTERM)
            self.assertEqual(process.wait(timeout=10), 0)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stderr.close()


if __name__ == "__main__":
    unittest.main()
