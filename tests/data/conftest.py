"""The gzip layer under both inflaters: ISA-L's (python-isal, the cli extra) and zlib's."""

import gzip
import zlib

import pytest

from backprop.data import idx


@pytest.fixture(params=["isal", "zlib"])
def inflate(request, monkeypatch):
    """Run the test with ISA-L's GzipFile (skipped without python-isal), then with the stdlib's."""
    if request.param == "isal":
        igzip = pytest.importorskip("isal.igzip")
        assert idx._GzipFile is igzip.IGzipFile  # installed: the reader uses it
    else:
        monkeypatch.setattr(idx, "_GzipFile", gzip.GzipFile)
        monkeypatch.setattr(idx, "_InflateError", zlib.error)
    return request.param
