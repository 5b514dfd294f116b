"""Drives resotolib 3.9.0's CoreEvents (run in the compat virtualenv): print every message as a JSON line.

argv: ws_url psk ("" for none) events (comma-separated). Exits when stdin closes.
"""

import argparse
import json
import sys

from resotolib.args import ArgumentParser
from resotolib.core.events import CoreEvents

ws_url, psk, events = sys.argv[1], sys.argv[2] or None, set(sys.argv[3].split(","))
ArgumentParser.args = argparse.Namespace(psk=psk)  # how resotolib's clients learn the key


def process(message):
    print(json.dumps(message), flush=True)


listener = CoreEvents(ws_url, events=events, message_processor=process)
listener.daemon = True
listener.start()
sys.stdin.read()
listener.shutdown()
