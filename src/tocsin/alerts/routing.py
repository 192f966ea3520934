"""Global routing rules on the fast path (E3). [placeholder: being written]"""


def route(event):
    return None
