"""The access log's formatter writes uvicorn's line, without uvicorn's copies of each record."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter as UvicornAccessFormatter

from kgbuild.server.access_log import AccessFormatter

FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'


@pytest.mark.parametrize("status", [200, 304, 404, 429, 503, 599])
@pytest.mark.parametrize("colours", [False, True])
def test_the_same_line_as_uvicorn(status: int, colours: bool) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/sparql?query=ASK%7B%7D", "1.1", status), None)
    ours = AccessFormatter(fmt=FORMAT, use_colors=colours).format(record)
    assert ours == UvicornAccessFormatter(fmt=FORMAT, use_colors=colours).format(record)
