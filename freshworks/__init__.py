"""Plain-Python access to Freshservice: the API client and the IDs.txt parser; no Django."""
