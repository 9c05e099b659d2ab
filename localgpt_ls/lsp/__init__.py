"""The language-server door: pygls 2 server, one module per feature, registered in `server.py`."""
