"""Heartbeats (E1, ER2). [placeholder: being written]"""


async def ping_async(info):
    return {"status": "ok"}
