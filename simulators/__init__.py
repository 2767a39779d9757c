"""Loopback stand-ins for public services Tongban cannot reach from here: the population
registry (two-factor check), a mobile carrier (three-factor), a bank card network (four-factor)
and remote face verification against the registry portrait. Each is a separate HTTP service
with its own seeded records, the signed wire protocol of :mod:`simulators.common`, realistic
error codes and switches for latency and outages. :mod:`simulators.launch` starts them."""
