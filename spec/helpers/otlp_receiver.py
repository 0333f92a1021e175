"""A test OTLP/HTTP receiver: POST /v1/traces with a protobuf body, decoded
by hand from the wire format against the message layout opentelemetry-proto
publishes (field numbers and wire types), independently of the exporter's
encoder. A field of a known number with another wire type fails the request
(400). Each span becomes one line of --out, a Lua table constructor.

  otlp_receiver.py --port-file F --out SPANS [--status CODE] [--discard]

--status answers every request with CODE (and decodes nothing); --discard
answers 200 without decoding (for the benchmark). GET /stats answers
"requests spans bytes", GET /headers the last request's headers. It stops by itself after --lifetime seconds (600).
"""
import argparse
import gzip
import http.server
import socketserver
import sys
import threading

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class WireError(Exception):
    pass


def varint(buf, i):
    shift = value = 0
    while True:
        if i >= len(buf):
            raise WireError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def fields(buf):
    """(number, wire type, value) of each field of a message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, i = varint(buf, i)
        elif wire == I64:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == I32:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        elif wire == LEN:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        else:
            raise WireError("wire type %d" % wire)
        if i > len(buf):
            raise WireError("truncated field %d" % number)
        yield number, wire, value


def decode(buf, layout):
    """A message as a dict, by a layout {number: (name, wire, kind, repeated)}
    where kind is a layout for a sub-message or one of "bytes", "string",
    "uint"."""
    out = {}
    for number, wire, value in fields(buf):
        if number not in layout:
            continue
        name, want, kind, repeated = layout[number]
        if wire != want:
            raise WireError("field %s (%d) has wire type %d, not %d" % (name, number, wire, want))
        if isinstance(kind, dict):
            value = decode(value, kind)
        elif kind == "string":
            value = value.decode("utf-8")
        elif kind == "bytes":
            value = bytes(value)
        if repeated:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


ANY_VALUE = {1: ("string_value", LEN, "string", False), 2: ("bool_value", VARINT, "uint", False),
             3: ("int_value", VARINT, "uint", False), 4: ("double_value", I64, "uint", False),
             7: ("bytes_value", LEN, "bytes", False)}
KEY_VALUE = {1: ("key", LEN, "string", False), 2: ("value", LEN, ANY_VALUE, False)}
SCOPE = {1: ("name", LEN, "string", False), 2: ("version", LEN, "string", False),
         3: ("attributes", LEN, KEY_VALUE, True)}
RESOURCE = {1: ("attributes", LEN, KEY_VALUE, True)}
SPAN = {1: ("trace_id", LEN, "bytes", False), 2: ("span_id", LEN, "bytes", False),
        3: ("trace_state", LEN, "string", False), 4: ("parent_span_id", LEN, "bytes", False),
        5: ("name", LEN, "string", False), 6: ("kind", VARINT, "uint", False),
        7: ("start_time_unix_nano", I64, "uint", False), 8: ("end_time_unix_nano", I64, "uint", False),
        9: ("attributes", LEN, KEY_VALUE, True), 16: ("flags", I32, "uint", False)}
SCOPE_SPANS = {1: ("scope", LEN, SCOPE, False), 2: ("spans", LEN, SPAN, True)}
RESOURCE_SPANS = {1: ("resource", LEN, RESOURCE, False), 2: ("scope_spans", LEN, SCOPE_SPANS, True)}
REQUEST = {1: ("resource_spans", LEN, RESOURCE_SPANS, True)}


def lua_string(s):
    out = ['"']
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\%d" % ch)
    out.append('"')
    return "".join(out)


def attrs_lua(kvs):
    return "{" + ",".join("[%s]=%s" % (lua_string(kv["key"]), lua_string(kv.get("value", {}).get("string_value", "")))
                          for kv in kvs) + "}"


def span_lines(request):
    for rs in request.get("resource_spans", []):
        resource = attrs_lua(rs.get("resource", {}).get("attributes", []))
        for ss in rs.get("scope_spans", []):
            scope = ss.get("scope", {})
            for sp in ss.get("spans", []):
                yield ("{name=%s,trace_id=%s,span_id=%s,parent_span_id=%s,kind=%d,start=%d,end_=%d,"
                       "flags=%d,attributes=%s,resource=%s,scope=%s,scope_version=%s}") % (
                    lua_string(sp.get("name", "")), lua_string(sp.get("trace_id", b"").hex()),
                    lua_string(sp.get("span_id", b"").hex()), lua_string(sp.get("parent_span_id", b"").hex()),
                    sp.get("kind", 0), sp.get("start_time_unix_nano", 0), sp.get("end_time_unix_nano", 0),
                    sp.get("flags", 0), attrs_lua(sp.get("attributes", [])), resource,
                    lua_string(scope.get("name", "")), lua_string(scope.get("version", "")))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        s = self.server
        if self.path == "/headers":
            return self.answer(200, "".join("%s: %s\n" % (k.lower(), v) for k, v in s.headers).encode())
        self.answer(200, ("%d %d %d\n" % (s.requests, s.spans, s.bytes)).encode())

    def do_POST(self):
        s = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with s.lock:
            s.requests += 1
            s.bytes += len(body)
            s.headers = list(self.headers.items())
        if s.status:
            return self.answer(s.status)
        if s.discard:
            return self.answer(200)
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            return self.answer(404)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        try:
            lines = list(span_lines(decode(body, REQUEST)))
        except (WireError, UnicodeDecodeError) as e:
            sys.stderr.write("otlp_receiver: bad request: %s\n" % e)
            return self.answer(400)
        with s.lock:
            s.spans += len(lines)
            with open(s.out, "a") as f:
                f.write("".join(line + "\n" for line in lines))
        self.answer(200)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--out", default="/dev/null")
    p.add_argument("--status", type=int, default=0)
    p.add_argument("--discard", action="store_true")
    p.add_argument("--lifetime", type=float, default=600)
    a = p.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.out, server.status, server.discard = a.out, a.status, a.discard
    server.requests = server.spans = server.bytes = 0
    server.headers = []
    server.lock = threading.Lock()
    threading.Timer(a.lifetime, server.shutdown).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
