"""A file server that answers byte ranges, for tests/examples.sh.

python3 -m http.server serves files but ignores Range (every request
gets the whole file), so chunked downloads cannot be tested against it.
This is http.server with single ranges (bytes=FIRST-LAST) answered 206.
Usage: rangeserver.py DIR; prints "ready PORT" once listening.
"""
import http.server
import os
import re
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if m is None or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        first = int(m.group(1))
        last = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
        if first > last:
            self.send_error(416)
            return None
        f = open(path, "rb")
        f.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        self.remaining = last - first + 1
        return f

    def copyfile(self, source, outputfile):
        n = getattr(self, "remaining", None)
        if n is None:
            return super().copyfile(source, outputfile)
        while n > 0:
            b = source.read(min(n, 65536))
            if not b:
                break
            outputfile.write(b)
            n -= len(b)

    def log_message(self, *args):
        pass


os.chdir(sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("ready", srv.server_address[1], flush=True)
srv.serve_forever()
