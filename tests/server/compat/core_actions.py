"""Drives resotolib 3.9.0's CoreActions + CoreFeedback as a worker (run in the compat virtualenv).

argv: http_url ws_url psk ("" for none) subscriber_id message_type. Exits when stdin closes.
"""

import argparse
import sys
from queue import Queue

from resotolib.args import ArgumentParser
from resotolib.core.actions import CoreActions, CoreFeedback

http_url, ws_url, psk, identifier, message_type = sys.argv[1], sys.argv[2], sys.argv[3] or None, *sys.argv[4:6]
ArgumentParser.args = argparse.Namespace(psk=psk)
feedback_queue = Queue()


def process(message):
    if message.get("kind") != "action":
        return None
    data = message["data"]
    feedback = CoreFeedback(data["task"], data["step"], message["message_type"], feedback_queue)
    feedback.progress_done("account-1", 1, 2)
    feedback.info("compat worker was here")
    print("ACTION", data["task"], flush=True)
    return {"kind": "action_done", "message_type": message["message_type"],
            "data": {"task": data["task"], "step": data["step"]}}


actions = CoreActions(
    identifier,
    http_url,
    ws_url,
    {message_type: {"timeout": 30, "wait_for_completion": True}},
    incoming_messages=feedback_queue,
    message_processor=process,
)
actions.daemon = True
actions.start()
sys.stdin.read()
actions.shutdown()
