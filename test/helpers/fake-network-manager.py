#!/usr/bin/env python3
"""A stand-in for NetworkManager on a private bus (the cost tests): it owns the name
org.freedesktop.NetworkManager and answers org.freedesktop.DBus.Properties.Get for
"Metered" with the number in METERED_FILE (NM_METERED_*: 0 unknown, 1 yes, 2 no, 3 guess-yes,
4 guess-no), read on every call so a test changes it by rewriting the file. Written from the
D-Bus specification with the standard library only, independent of the client under test.

usage: fake-network-manager.py BUS_SOCKET_PATH METERED_FILE
"""
import os
import socket
import struct
import sys

sock_path, metered_file = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
s.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
buf = b""
while b"\r\n" not in buf:
    buf += s.recv(4096)
if not buf.startswith(b"OK "):
    sys.exit("auth refused: %r" % buf)
s.sendall(b"BEGIN\r\n")
buf = b""


def pad(data, n):
    return data + b"\0" * ((n - len(data) % n) % n)


def string(v):
    b = v.encode()
    return struct.pack("<I", len(b)) + b + b"\0"


def sig(v):
    return bytes([len(v)]) + v.encode() + b"\0"


def field(code, typ, value):
    return pad(bytes([code]) + sig(typ), 4 if typ in "so" else 1) + value


def message(kind, serial, fields, signature, body):
    hdr = b""
    for f in fields + ([field(8, "g", sig(signature))] if signature else []):
        hdr = pad(hdr, 8) + f
    head = struct.pack("<cBBBIII", b"l", kind, 0, 1, len(body), serial, len(hdr)) + hdr
    return pad(head, 8) + body


serial = 0


def call(member, signature, body, dest="org.freedesktop.DBus", path="/org/freedesktop/DBus", iface="org.freedesktop.DBus"):
    global serial
    serial += 1
    fields = [field(1, "o", string(path)), field(2, "s", string(iface)), field(3, "s", string(member)), field(6, "s", string(dest))]
    s.sendall(message(1, serial, fields, signature, body))


def read_message():
    global buf
    while True:
        if len(buf) >= 16:
            body_len, ser, fields_len = struct.unpack_from("<III", buf, 4)
            start = 16 + fields_len
            start += (8 - start % 8) % 8
            if len(buf) >= start + body_len:
                raw, buf = buf[: start + body_len], buf[start + body_len :]
                return raw, ser, fields_len, start
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(0)
        buf += chunk


def header_fields(raw, fields_len):
    out, pos, end = {}, 16, 16 + fields_len
    while pos < end:
        pos += (8 - pos % 8) % 8
        code = raw[pos]
        n = raw[pos + 1]
        typ = raw[pos + 2 : pos + 2 + n].decode()
        pos += 3 + n
        if typ in "so":
            pos += (4 - pos % 4) % 4
            (length,) = struct.unpack_from("<I", raw, pos)
            out[code] = raw[pos + 4 : pos + 4 + length].decode()
            pos += 5 + length
        elif typ == "g":
            length = raw[pos]
            out[code] = raw[pos + 1 : pos + 1 + length].decode()
            pos += 2 + length
        elif typ == "u":
            pos += (4 - pos % 4) % 4
            (out[code],) = struct.unpack_from("<I", raw, pos)
            pos += 4
        else:
            sys.exit("unexpected header field type " + typ)
    return out


call("Hello", "", b"")
call("RequestName", "su", pad(string("org.freedesktop.NetworkManager"), 4) + struct.pack("<I", 4))
while True:  # the name is ours once RequestName is answered
    raw, ser, fields_len, body_start = read_message()
    if raw[1] in (2, 3) and header_fields(raw, fields_len).get(5) == serial:
        break
print("ready", flush=True)
while True:
    raw, ser, fields_len, body_start = read_message()
    if raw[1] != 1:
        continue  # replies and signals
    f = header_fields(raw, fields_len)
    reply_fields = [field(5, "u", struct.pack("<I", ser)), field(6, "s", string(f.get(7, "")))]
    if f.get(3) == "Get" and f.get(2) == "org.freedesktop.DBus.Properties":
        with open(metered_file) as m:
            value = int(m.read().strip())
        serial += 1
        s.sendall(message(2, serial, reply_fields, "v", sig("u") + b"\0" + struct.pack("<I", value)))
    else:
        serial += 1
        error = [field(4, "s", string("org.freedesktop.DBus.Error.UnknownMethod"))] + reply_fields
        s.sendall(message(3, serial, error, "s", string("not here")))
