"""One page as the bytes of a multipart/alternative e-mail (a text part and an HTML part, both
UTF-8, quoted-printable), ready for SMTP's DATA.

The `email` package's EmailMessage took more than a millisecond a message to build and flatten,
a quarter of a fan-out's time; a page's shape is always the same, so it is written here from the
standard library's encoders (RFC 2047 headers, quoted-printable bodies) in a few microseconds.
Tests read what this writes back with the `email` parser."""

import binascii
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

CRLF = b"\r\n"


class HeaderError(ValueError):
    pass


def _header(name, value):
    """`Name: value`, RFC 2047-encoded (and folded) when the value is not plain ASCII."""
    if "\r" in value or "\n" in value:
        raise HeaderError(f"the {name} header cannot hold a line break")
    if value.isascii() and len(value) + len(name) < 76:
        return f"{name}: {value}".encode("ascii")
    charset = "us-ascii" if value.isascii() else "utf-8"
    return f"{name}: {Header(value, charset, header_name=name).encode(linesep=CRLF.decode())}".encode("ascii")


def _body(text):
    """Quoted-printable with CRLF line ends; lines are soft-broken at 76 characters."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(lines, quotetabs=False, istext=True, header=False).replace(b"\n", CRLF)


def page(*, sender, to, subject, text, html, message_id, extra=()):
    """The message's bytes. `sender` is an address, or `Name <address>` with any name; `to` is
    an address; `extra` are further (name, value) headers."""
    boundary = f"=_tocsin_{secrets.token_hex(12)}"
    name, address = parseaddr(sender)
    headers = [("From", formataddr((name, address)) if name else address), ("To", to), ("Subject", " ".join(subject.split())),
               ("Date", formatdate(localtime=False, usegmt=True)), ("Message-ID", message_id), *extra,
               ("MIME-Version", "1.0")]
    parts = [_header(name, value) for name, value in headers]
    if not html:
        parts += [b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: quoted-printable", b"",
                  _body(text)]
        return CRLF.join(parts) + CRLF
    mark = boundary.encode("ascii")
    parts += [b'Content-Type: multipart/alternative; boundary="' + mark + b'"', b""]
    for subtype, content in ((b"plain", text), (b"html", html)):
        parts += [b"--" + mark, b"Content-Type: text/" + subtype + b"; charset=utf-8",
                  b"Content-Transfer-Encoding: quoted-printable", b"", _body(content)]
    parts.append(b"--" + mark + b"--")
    return CRLF.join(parts) + CRLF
