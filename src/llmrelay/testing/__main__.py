"""``python -m llmrelay.testing``: run the provider emulators until interrupted."""

from __future__ import annotations

import argparse
import time

from .server import DEFAULT_API_KEY, Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve llmrelay's provider emulators on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args(argv)
    with Emulator(api_key=args.api_key, host=args.host, port=args.port) as emu:
        print(f"llmrelay emulator on {emu.url} (api key {args.api_key})", flush=True)
        for provider in emu.BASE_PATHS:
            print(f"  {provider:<11} api_base={emu.base_url(provider)}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
