# Schemathesis hooks for `make fuzz-api`.
import os

import schemathesis
from schemathesis.transport.serialization import serialize_binary

# The token every case runs with, and its user: a case that would revoke that token or disable
# that user would turn every later case into a 401 and end the run's reach, so it is pointed at
# someone else instead (revoking and disabling are still fuzzed, on other ids and names).
OWN_TOKEN_ID = os.environ.get("FUZZ_API_TOKEN_ID", "")
OWN_USER = os.environ.get("FUZZ_API_USER", "")


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    # tus PATCH bodies: raw bytes, sent as schemathesis sends octet streams.
    return {"data": serialize_binary(value)}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    params = case.path_parameters
    if not params:
        return
    if OWN_TOKEN_ID and params.get("id") == OWN_TOKEN_ID and "/tokens/" in case.path:
        params["id"] = "0" * 64
    if OWN_USER and params.get("name") == OWN_USER and case.method.upper() in ("PATCH", "PUT", "DELETE"):
        params["name"] = OWN_USER + "-other"
