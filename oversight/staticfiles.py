"""Static files served compressed, with long cache lifetimes, in the demo and in
production alike, by WhiteNoise.

Production (DEBUG off) serves what ``collectstatic`` wrote with WhiteNoise's
``CompressedManifestStaticFilesStorage``: every name carries a hash of its
content, with gzip (and Brotli, where the ``brotli`` package is installed)
copies beside it, so WhiteNoise sends them compressed and cached for good.

The demo and the tests (DEBUG on) have no ``collectstatic``: WhiteNoise reads
the files from the finders (``WHITENOISE_USE_FINDERS`` + autorefresh, so an
edited file is served at once and no missing STATIC_ROOT is warned about).
Two pieces give them the same properties as production:

- ``VersionedStaticFilesStorage`` adds ``?v=<hash of the content>`` to every
  ``{% static %}`` URL, so a URL names one content and may be cached for good;
- ``StaticFilesMiddleware`` compresses each file once, on its first request,
  into a cache directory outside the source tree (keyed by the file's path,
  size and modification time), and marks a response immutable when the URL's
  ``v`` is the hash of what is served. Without a matching ``v`` (a URL written
  by hand, or ``url()`` inside a stylesheet) the browser revalidates instead.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from wsgiref.headers import Headers

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.compress import Compressor
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import MissingFileError, StaticFile

ONE_YEAR = 365 * 24 * 60 * 60
IMMUTABLE = f"max-age={ONE_YEAR}, public, immutable"


@lru_cache(maxsize=1024)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]


def content_version(path: str) -> str:
    """A short hash of the file's content (recomputed only when it changes)."""
    stat = os.stat(path)
    return _digest(path, stat.st_size, stat.st_mtime_ns)


class VersionedStaticFilesStorage(StaticFilesStorage):
    """``{% static %}`` URLs carry the hash of the file the finders find."""

    def url(self, name):
        url = super().url(name)
        path = finders.find(name) if name else None
        if not isinstance(path, str):
            return url
        return f"{url}{'&' if '?' in url else '?'}v={content_version(path)}"


def compressed_cache_dir() -> Path:
    configured = getattr(settings, "STATIC_COMPRESSED_CACHE", None)
    if configured:
        return Path(configured)
    tag = hashlib.sha256(str(settings.BASE_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"oversight-static-{tag}"


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise; with autorefresh (the demo), compressing on first request."""

    compressor = Compressor(quiet=True)

    def __call__(self, request):
        if not self.autorefresh:
            return super().__call__(request)
        static_file = self.find_file(request.path_info)
        if static_file is None:
            return self.get_response(request)
        response = self.serve(static_file, request)
        path = getattr(static_file, "source_path", None)
        if path and request.GET.get("v") == content_version(path):
            response["Cache-Control"] = IMMUTABLE
        return response

    def get_static_file(self, path, url, stat_cache=None):
        if not self.autorefresh:
            return super().get_static_file(path, url, stat_cache=stat_cache)
        if not os.path.isfile(path):
            raise MissingFileError(path)
        headers = Headers([])
        self.add_mime_headers(headers, path, url)
        self.add_cache_headers(headers, path, url)
        if self.allow_all_origins:
            headers["Access-Control-Allow-Origin"] = "*"
        if self.add_headers_function is not None:
            self.add_headers_function(headers, path, url)
        static_file = StaticFile(path, headers.items(), encodings=self.compressed_copies(path))
        static_file.source_path = path
        return static_file

    def compressed_copies(self, path: str) -> dict[str, str]:
        """{encoding: path} of the file's compressed copies, made if missing."""
        if not self.compressor.should_compress(path):
            return {}
        stat = os.stat(path)
        key = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:16]
        base = compressed_cache_dir() / f"{key}-{stat.st_size}-{stat.st_mtime_ns}"
        copies = {"gzip": f"{base}.gz"}
        if self.compressor.use_brotli:
            copies["br"] = f"{base}.br"
        if all(os.path.exists(p) for p in copies.values()):
            return copies
        base.parent.mkdir(parents=True, exist_ok=True)
        data = Path(path).read_bytes()
        for encoding, target in copies.items():
            packed = (
                self.compressor.compress_brotli(data)
                if encoding == "br"
                else self.compressor.compress_gzip(data)
            )
            # Written whole or not at all when two requests race; a copy no
            # smaller than the file is kept too (WhiteNoise sends the smallest).
            with tempfile.NamedTemporaryFile(dir=base.parent, delete=False) as handle:
                handle.write(packed)
            os.replace(handle.name, target)
        return copies
