"""The I/O-free core: requests, responses, errors, retry policy and status semantics.

The hook (``requests``) and the trigger (``aiohttp``) are thin transports around it.
"""
