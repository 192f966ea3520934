"""The ingestion endpoints' own OpenAPI document. [placeholder: being written]"""


def document():
    return {"openapi": "3.1.0", "info": {"title": "Tocsin ingestion", "version": "1"}, "paths": {}}
