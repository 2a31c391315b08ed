"""Link a Resonite account from a device with no browser (RFC 8628 device authorization grant).

A plain HTTP client: it knows only the server's discovery URL and its own client id (and
secret, if it has one). It never sees the person's password.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import httpx
import segno

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="http://127.0.0.1:8080", help="issuer base URL")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=None, help="omit for a public client")
    parser.add_argument("--scope", default="openid profile")
    parser.add_argument("--no-qr", action="store_true", help="do not draw the QR code")
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(text, flush=True)


class DeviceLogin:
    def __init__(self, args: argparse.Namespace, http: httpx.Client) -> None:
        self.args = args
        self.http = http
        self.metadata: dict[str, Any] = {}

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        if self.args.client_secret:
            credentials = (str(self.args.client_id), str(self.args.client_secret))
            return self.http.post(url, data=data, auth=credentials)
        return self.http.post(url, data={**data, "client_id": self.args.client_id})

    def discover(self) -> None:
        url = f"{self.args.server.rstrip('/')}/.well-known/openid-configuration"
        self.metadata = self.http.get(url).raise_for_status().json()

    def start(self) -> dict[str, Any]:
        response = self.post(
            self.metadata["device_authorization_endpoint"], {"scope": self.args.scope}
        )
        body: dict[str, Any] = response.json()
        if response.status_code != 200:
            raise SystemExit(f"The server refused: {body.get('error_description', body)}")
        return body

    def show(self, codes: dict[str, Any]) -> None:
        say(f"To link your account, open {codes['verification_uri']}")
        say(f"and enter the code: {codes['user_code']}")
        say(f"Or open: {codes['verification_uri_complete']}")
        if not self.args.no_qr:
            segno.make(codes["verification_uri_complete"], error="m").terminal(compact=True)
        say("Waiting for you to approve…")

    def poll(self, codes: dict[str, Any]) -> dict[str, Any]:
        interval = int(codes.get("interval", 5))
        deadline = time.monotonic() + int(codes["expires_in"])
        while time.monotonic() < deadline:
            time.sleep(interval)
            response = self.post(
                self.metadata["token_endpoint"],
                {"grant_type": DEVICE_GRANT, "device_code": codes["device_code"]},
            )
            body: dict[str, Any] = response.json()
            if response.status_code == 200:
                return body
            error = body.get("error")
            if error == "authorization_pending":
                continue
            if error == "slow_down":  # RFC 8628 §3.5: wait 5 seconds longer from now on
                interval += 5
                continue
            if error == "access_denied":
                raise SystemExit("You denied the request; nothing was linked.")
            if error == "expired_token":
                raise SystemExit("The code expired before it was approved. Run me again.")
            raise SystemExit(f"The server refused: {body.get('error_description', error)}")
        raise SystemExit("The code expired before it was approved. Run me again.")

    def profile(self, tokens: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.args.server.rstrip('/')}/api/user/profiles"
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        document: dict[str, Any] = self.http.get(url, headers=headers).raise_for_status().json()
        return document


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with httpx.Client(timeout=15) as http:
            login = DeviceLogin(args, http)
            login.discover()
            codes = login.start()
            login.show(codes)
            tokens = login.poll(codes)
            document = login.profile(tokens)
    except httpx.HTTPError as error:
        say(f"Could not reach the server at {args.server}: {error}")
        return 2
    except SystemExit as stop:
        say(str(stop))
        return 1
    say(f"Signed in as {document['username']} ({document['id']})")
    say(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
