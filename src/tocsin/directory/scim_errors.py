"""SCIM error responses (RFC 7644 section 3.12): an HTTP status, a scimType and a detail naming the problem."""

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    def __init__(self, status, detail, scim_type=None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def body(self):
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def bad(detail, scim_type="invalidValue"):
    return ScimError(400, detail, scim_type)
